"""The README's first screen, its links, the documentation site under docs/ and the changelog."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

from pbt_tracker import __version__
from tests.conftest import REPO_ROOT

README = (REPO_ROOT / "README.md").read_text()
FIRST_SCREEN = "\n".join(README.splitlines()[:50])
EVERYDAY = ["submit", "report", "show", "logs", "cancel", "resubmit-failed", "watch", "launches", "plot", "serve"]


def test_the_first_screen_says_how_to_get_it_the_two_fresh_machine_commands_and_the_everyday_commands() -> None:
    assert "`pip install .` in the checkout" in FIRST_SCREEN
    assert ("```sh\npython3 -m venv .venv && .venv/bin/pip install . && .venv/bin/pbt-track submit "
            "--run pbt_tracker.examples.toy_pbt --workdir demo\n```") in FIRST_SCREEN
    assert "```sh\nscripts/test.sh\n```" in FIRST_SCREEN
    [cheat_sheet] = re.findall(r"## Everyday commands\n.*?```sh\n(.*?)```", FIRST_SCREEN, flags=re.S)
    assert [line.split()[1] for line in cheat_sheet.splitlines()] == EVERYDAY


def test_the_slurm_quick_start_comes_next_and_maintainers_pages_are_only_linked() -> None:
    headings = re.findall(r"^#+ (.+)$", README, flags=re.M)
    assert headings[:7] == ["pbt-track", "Get it, try it", "Everyday commands", "On a fresh machine",
                            "IsaacGymEnvs users", "Slurm quick start", "The tests"]
    assert "Benchmarks" not in headings and "How it is built" not in headings and "Adding a backend" not in headings
    for page in ("guarantees", "benchmarks", "internals", "troubleshooting"):
        assert f"(docs/{page}.md)" in README


def test_every_relative_link_of_the_readme_reaches_a_file_or_a_heading() -> None:
    anchors = {re.sub(r"[^a-z0-9 -]", "", heading.lower()).replace(" ", "-")
               for heading in re.findall(r"^#+ (.+)$", README, flags=re.M)}
    links = re.findall(r"\]\(([^)\s]+)\)", README)
    assert len(links) > 15
    for link in links:
        target, _, anchor = link.partition("#")
        if target:
            assert (REPO_ROOT / target).is_file(), link
        else:
            assert anchor in anchors, link


def test_the_readme_lists_every_guarantee_of_the_guarantees_page() -> None:
    page = (REPO_ROOT / "docs" / "guarantees.md").read_text()
    promised = [heading.rstrip(".") for heading in re.findall(r"^- \*\*(.+?)\*\*", page, flags=re.M)]
    [section] = re.findall(r"\n## Guarantees\n(.*?)\n## ", README, flags=re.S)
    listed = re.findall(r"^- (.+)$", section, flags=re.M)
    assert len(promised) == len(listed) >= 10
    assert all(item.startswith(promise) for promise, item in zip(promised, listed))


def test_the_changelog_starts_with_this_version_after_what_is_unreleased() -> None:
    changelog = (REPO_ROOT / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## (\S+)", changelog, flags=re.M)
    releases = headings[1:] if headings[0] == "Unreleased" else headings
    assert releases[0] == __version__
    assert "Unreleased" not in releases


def build_site(root: Path, site: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)],
                          cwd=root, capture_output=True, text=True, timeout=120)


def test_the_documentation_site_builds_strictly_and_a_broken_link_fails_it(tmp_path: Path) -> None:
    """What scripts/test.sh runs, on the checkout's pages and on a copy with one link broken."""
    built = build_site(REPO_ROOT, tmp_path / "site")
    assert built.returncode == 0, built.stderr
    assert (tmp_path / "site" / "troubleshooting" / "index.html").is_file()

    copy = tmp_path / "copy"
    shutil.copytree(REPO_ROOT / "docs", copy / "docs")
    shutil.copy(REPO_ROOT / "mkdocs.yml", copy / "mkdocs.yml")
    with open(copy / "docs" / "troubleshooting.md", "a") as page:
        page.write("\nSee [the rules](guarantees.md#no-such-heading).\n")
    broken = build_site(copy, tmp_path / "site2")
    assert broken.returncode == 1
    assert "contains a link 'guarantees.md#no-such-heading'" in broken.stderr
    assert "Aborted with 1 warnings in strict mode!" in broken.stdout + broken.stderr
