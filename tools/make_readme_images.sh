#!/bin/bash
# Regenerate the README's pictures from real runs (needs matplotlib: pip install -e '.[plot]'):
#
#   tools/make_readme_images.sh              # uses the optrun on PATH
#   OPTRUN=/path/to/venv/bin/optrun tools/make_readme_images.sh
#   OUT_DIR=/tmp/pictures tools/make_readme_images.sh   # write the PNGs elsewhere (default docs/images)
#
# docs/images/amsgrad-contour.png  the AMSGrad tutorial's run (configs/amsgrad.yaml) on its contour
# docs/images/convergence.png      five optimizers on the 10-D Rosenbrock function, f - f* per step
# docs/images/reddi-online.png     the AMSGrad paper's online problem (configs/reddi-online.yaml)
# docs/images/reddi-theorem1.png   its Theorem 1 (configs/reddi-theorem1.yaml)
# docs/images/reddi-stochastic.png its stochastic problem, 20 seeds (configs/reddi-stochastic.yaml)
# docs/images/digits-logistic.png  the paper's logistic regression on digits (configs/digits-logistic.yaml)
#
# The three reddi-* sweeps run 10^6 rounds each (a few minutes on 2 cores; SKIP_REDDI=1 skips them).
#
# The runs go to a temporary runs folder that is removed afterwards; only the PNGs are kept.
# Each "algorithm={...}" below is the whole algorithm section: the config's own keys are not merged in.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
optrun=${OPTRUN:-optrun}
out=${OUT_DIR:-$root/docs/images}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export OPTRUN_RUNS_DIR=$tmp/runs NO_COLOR=1
mkdir -p "$out"

# 1. The tutorial's picture: 100 AMSGrad steps on f(x) = x0^2 + x1^2 from the seed(1) start.
"$optrun" run "$root/configs/amsgrad.yaml" --quiet >/dev/null
"$optrun" plot last -o "$out/amsgrad-contour.png" --dpi 90 \
  --title "AMSGrad tutorial: 100 steps on the sphere, from seed(1)"

# 2. Convergence: the same random start in [-2.048, 2.048]^10, 5,000 steps of each optimizer.
common=(objective.dim=10 iterations=5000 seed=1 name=rosenbrock-10d expect.f_gap_max=null)
for algorithm in "{name: gd, alpha: 2.0e-4}" \
                 "{name: momentum, variant: torch, alpha: 2.0e-4, momentum: 0.9}" \
                 "{name: adagrad, variant: torch, alpha: 0.5}" \
                 "{name: adam, variant: torch, alpha: 0.02}" \
                 "{name: amsgrad, variant: torch, alpha: 0.02}"; do
  "$optrun" run "$root/configs/rosenbrock.yaml" "${common[@]}" "algorithm=$algorithm" --quiet >/dev/null
done
"$optrun" plot -5 -4 -3 -2 -1 --kind convergence -o "$out/convergence.png" --dpi 90 \
  --title "Rosenbrock, d = 10: five optimizers from the same start"

# 3. The AMSGrad paper's experiment, as shipped: x_t and R_t / t for Adam and AMSGrad.
if [ -z "${SKIP_REDDI:-}" ]; then
  for name in reddi-online reddi-theorem1 reddi-stochastic; do
    "$optrun" run "$root/configs/$name.yaml" --quiet >/dev/null
    "$optrun" plot last -o "$out/$name.png" --dpi 90
  done
fi

# 4. The AMSGrad paper's logistic regression on the shipped digits, as shipped: training f - f* and
#    test accuracy, median and interquartile band of 10 seeds per algorithm.
"$optrun" run "$root/configs/digits-logistic.yaml" --quiet >/dev/null
"$optrun" plot last -o "$out/digits-logistic.png"

ls -l "$out"/*.png
