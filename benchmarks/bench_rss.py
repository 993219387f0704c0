"""Child process: run a command and write its peak RSS (``ru_maxrss``) and exit status as JSON.

    python bench_rss.py OUT.json CMD [ARGS...]

Why a middleman: on Linux a process's ``ru_maxrss`` starts from the high-water mark of the
address space that ``exec`` replaced. ``subprocess`` starts children with ``vfork``, so a child of
the benchmark process would inherit the benchmark's own peak (hundreds of MB after the kernel
benchmarks at d = 1e7) and report that instead of its own. Started from this small process, the
child's figure is its own (anything below this process's few MB is not distinguishable).
"""

import json
import os
import subprocess
import sys

out, cmd = sys.argv[1], sys.argv[2:]
p = subprocess.Popen(cmd)
_, status, ru = os.wait4(p.pid, 0)
p.returncode = os.waitstatus_to_exitcode(status)
with open(out, "w", encoding="utf-8") as f:
    json.dump({"maxrss_kib": ru.ru_maxrss, "returncode": p.returncode, "cpu_s": ru.ru_utime + ru.ru_stime}, f)
sys.exit(0 if p.returncode == 0 else 1)
