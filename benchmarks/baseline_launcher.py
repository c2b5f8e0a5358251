"""What the original launcher does for a Slurm launch, and nothing more: the baseline of submit_overhead.py.

Write one script per experiment from the template, then sbatch them one by
one and keep the ids in memory. No database, no checks.
    python benchmarks/baseline_launcher.py RUN_MODULE WORKDIR TEMPLATE TRAIN_DIR
"""

import importlib
import os
import subprocess
import sys
from string import Template


def main(run_module: str, workdir: str, template_path: str, train_dir: str) -> int:
    description = importlib.import_module(run_module).RUN_DESCRIPTION
    os.makedirs(workdir, exist_ok=True)
    template = open(template_path).read()
    scripts = []
    for cmd, name, *_ in description.generate_experiments(train_dir, makedirs=False):
        path = os.path.abspath(os.path.join(workdir, f"sbatch_{name}.sh"))
        with open(path, "w") as handle:
            handle.write(Template(template).substitute(CMD=cmd, FILENAME=path, PARTITION="", GPU=1, CPU=1, TIMEOUT="0"))
        scripts.append(path)
    job_ids = []
    for path in scripts:
        argv = ["sbatch", "--gres=gpu:1", "-c", "1", "--parsable", "--output",
                f"{workdir}/{os.path.basename(path)}-slurm-%j.out", path]
        out = subprocess.run(argv, stdout=subprocess.PIPE, check=True, text=True).stdout
        job_ids.append(out.strip())
    with open(os.path.join(workdir, "scancel.sh"), "w") as handle:
        handle.write("scancel " + " ".join(job_ids))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
