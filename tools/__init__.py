"""The course's machinery: what no notebook imports (learners read `utils/`, not this).

Each module runs from the repository's root as `python -m tools.<module>`, behind a `make` target:

- `course`          the course's metadata: repository, notebook map (lessons and appendices, in
                    course order), badges, setup cell — `make sync` rewrites, `make lint` checks
- `notebooks`       the one way notebook files are read and written (as nbformat writes them)
- `classroom`       student copies without solutions, grading of submissions (run in the
                    sandbox, judged outside it) — `make student`, `make grade SUBMISSIONS=dir`
- `sandbox`         bubblewrap around one submission: no network, no writes but its scratch,
                    limits on time, resident memory and processes (tests: `make classroom`)
- `activities`      TEACHING.md's class activities, run and measured — `make activities`
- `site`            the course as a static website from the stored outputs — `make site`
- `explorers`       the explorers' pictures for the website, drawn at build time over a grid of
                    settings (site/explorer.js switches them in the page, without Python)
- `browser`         headless Chromium for the website's and JupyterLab's checks — `make browser`
- `benchmarks`      the course's timings, one table — `make bench`
- `notebook_runs`   re-execute notebooks, recording each one's time and kernel's peak memory in
                    benchmarks/notebook_runs.json — `make notebooks` (`make bench` prints it)
- `rerun_verdicts`  notebooks rerun from an empty cache, their `Verdict:` lines compared with the
                    stored ones — `make rerun-verdicts [NOTEBOOKS=...]`
- `diff_outputs`    two executions' text outputs compared cell by cell (after a refactoring) —
                    `make diff-outputs OLD=dir NEW=dir`
"""
