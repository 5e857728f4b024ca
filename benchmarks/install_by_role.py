"""Install time and size of convgrade by role: the base (a student's ``convgrade check``) and each extra.

For every role: ``pip download`` the role's wheels into one shared folder (what a user downloads:
the sum of the wheel sizes), then install them into a fresh venv from that folder only
(``--no-index``, so the time is pip's install work, not the network) and measure the venv's
site-packages. torch is always the CPU build 2.13.0 (a local wheel, pinned by a constraint), as
``make install`` does; pip never resolves another torch.

    .venv/bin/python benchmarks/install_by_role.py [--roles base,instructor] [--work DIR]

Needs the package index (or a warm pip cache) for the download step.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import unquote

ROOT = Path(__file__).resolve().parents[1]
ROLES = {"base": "", "data": "[data]", "cluster": "[cluster]", "instructor": "[instructor]",
         "torch": "[torch]", "instructor+torch": "[instructor,torch]", "all": "[all]"}
TORCH_PIN = "torch==2.13.0+cpu"


def du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


def pip(*args, python=None):
    cmd = [sys.executable, "-m", "pip", *(["--python", str(python)] if python else []), *args]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"{' '.join(cmd)}\n{r.stdout[-2000:]}{r.stderr[-4000:]}")
    return r


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--roles", default=",".join(ROLES))
    ap.add_argument("--work", type=Path, default=None, help="keep the downloads here (default: a temp dir)")
    args = ap.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="convgrade-install-"))
    wheels, dist = work / "wheels", work / "dist"
    wheels.mkdir(parents=True, exist_ok=True)
    dist.mkdir(exist_ok=True)
    pip("wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(dist), str(ROOT))
    (whl,) = dist.glob("convgrade-*.whl")
    cons = work / "constraints.txt"
    cons.write_text(TORCH_PIN + "\n")
    rows = []
    for role in args.roles.split(","):
        spec = f"convgrade{ROLES[role]} @ {whl.as_uri()}"
        report = work / f"{role}.json"
        venv = work / f"venv-{role}"
        shutil.rmtree(venv, ignore_errors=True)
        subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
        py = venv / "bin" / "python"
        pip("install", "-q", "--dry-run", "-c", str(cons), "--report", str(report), spec, python=py)
        pip("download", "-q", "-d", str(wheels), "-c", str(cons), spec)
        items = json.loads(report.read_text())["install"]
        names = {unquote(Path(i["download_info"]["url"]).name) for i in items}
        download = sum((wheels / n).stat().st_size for n in names if (wheels / n).is_file())
        t0 = time.perf_counter()
        pip("install", "-q", "--no-index", "--find-links", str(wheels), "-c", str(cons), spec, python=py)
        seconds = time.perf_counter() - t0
        size = du(next((venv / "lib").glob("python3*/site-packages")))
        rows.append((role, len(items), download, size, seconds))
        print(f"{role:<18} {len(items):>4} packages  download {download / 2**20:7.1f} MiB  "
              f"installed {size / 2**20:7.1f} MiB  install {seconds:6.1f} s", flush=True)
        shutil.rmtree(venv, ignore_errors=True)
    base = dict((r[0], r) for r in rows).get("base")
    if base:
        print("\nover the base:")
        for role, n, download, size, seconds in rows:
            if role != "base":
                print(f"  {role:<18} +{n - base[1]:>3} packages  +{(size - base[3]) / 2**20:7.1f} MiB installed")
    if args.work is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
