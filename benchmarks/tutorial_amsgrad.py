# ruff: noqa  (the tutorial's code, kept as published)
# The AMSGrad tutorial's complete program ("Gradient Descent Optimization With AMSGrad From
# Scratch", ../shared/seeds/amsgrad-tutorial.txt), copied unchanged except for two things:
# the iteration count comes from the command line (default 100, as the tutorial) so the benchmark
# can run it for 100,000 iterations, and the code is laid out on lines. It prints the tutorial's
# line per iteration; the benchmark sends that to a file.
#
#   python benchmarks/tutorial_amsgrad.py [N_ITER] > lines.txt
#
# gradient descent optimization with amsgrad for a two-dimensional test function
import sys
from math import sqrt
from numpy import asarray
from numpy.random import rand
from numpy.random import seed


# objective function
def objective(x, y):
    return x**2.0 + y**2.0


# derivative of objective function
def derivative(x, y):
    return asarray([x * 2.0, y * 2.0])


# gradient descent algorithm with amsgrad
def amsgrad(objective, derivative, bounds, n_iter, alpha, beta1, beta2):
    # generate an initial point
    x = bounds[:, 0] + rand(len(bounds)) * (bounds[:, 1] - bounds[:, 0])
    # initialize moment vectors
    m = [0.0 for _ in range(bounds.shape[0])]
    v = [0.0 for _ in range(bounds.shape[0])]
    vhat = [0.0 for _ in range(bounds.shape[0])]
    # run the gradient descent
    for t in range(n_iter):
        # calculate gradient g(t)
        g = derivative(x[0], x[1])
        # update variables one at a time
        for i in range(x.shape[0]):
            # m(t) = beta1(t) * m(t-1) + (1 - beta1(t)) * g(t)
            m[i] = beta1 ** (t + 1) * m[i] + (1.0 - beta1 ** (t + 1)) * g[i]
            # v(t) = beta2 * v(t-1) + (1 - beta2) * g(t)^2
            v[i] = (beta2 * v[i]) + (1.0 - beta2) * g[i] ** 2
            # vhat(t) = max(vhat(t-1), v(t))
            vhat[i] = max(vhat[i], v[i])
            # x(t) = x(t-1) - alpha(t) * m(t) / sqrt(vhat(t)))
            x[i] = x[i] - alpha * m[i] / (sqrt(vhat[i]) + 1e-8)
        # evaluate candidate point
        score = objective(x[0], x[1])
        # report progress
        print(">%d f(%s) = %.5f" % (t, x, score))
    return [x, score]


# seed the pseudo random number generator
seed(1)
# define range for input
bounds = asarray([[-1.0, 1.0], [-1.0, 1.0]])
# define the total iterations
n_iter = int(sys.argv[1]) if len(sys.argv) > 1 else 100
# steps size
alpha = 0.007
# factor for average gradient
beta1 = 0.9
# factor for average squared gradient
beta2 = 0.99
# perform the gradient descent search with amsgrad
best, score = amsgrad(objective, derivative, bounds, n_iter, alpha, beta1, beta2)
print("Done!")
print("f(%s) = %f" % (best, score))
