"""A real JupyterLab for the browser tests: started on loopback with a token over a
fresh copy of the notebooks, with its own Jupyter config, runtime and workspace
folders (nothing of the user's is read or written), and driven through Debian's
chromium. Kernels are left running between notebooks, as a learner leaves them."""
from __future__ import annotations

import json
import re
import shutil
import time
from pathlib import Path

from fmtb import folders
from fmtb.maintainer import lab as maintainer_lab
from fmtb_helpers import paths

TAB = ".lm-DockPanel-tabBar .lm-TabBar-tab"  # a document's tab in JupyterLab's main area


def set_parameters(notebook: Path, **values) -> None:
    """Change default values in the copy's ``parameters`` cell (as a learner edits it)."""
    nb = json.loads(notebook.read_text())
    cell = next(c for c in nb["cells"] if "parameters" in c["metadata"].get("tags", []))
    source = "".join(cell["source"])
    for name, value in values.items():
        source, n = re.subn(rf"^{name}(: \w+)? = .*$", f"{name}\\1 = {value!r}", source,
                            flags=re.M)
        assert n == 1, name
    cell["source"] = source
    notebook.write_text(json.dumps(nb))


class Lab(maintainer_lab.Lab):
    """The maintainers' JupyterLab, driven through Debian's chromium as well."""

    def kernel_of(self, notebook: str) -> str:
        (session,) = [s for s in self.api("GET", "api/sessions")
                      if s["path"].endswith(notebook)]
        return session["kernel"]["id"]

    def open(self, page, notebook: str) -> None:
        """Open ``notebooks/<notebook>`` as a learner does: the first by its address, the
        next from the file browser of the JupyterLab already open (an address loads
        JupyterLab again, and with it every notebook open so far, frames and all)."""
        if page.url.startswith(f"{self.url}lab"):
            page.locator(".jp-DirListing-item", has_text=notebook).dblclick()
        else:
            page.goto(f"{self.url}lab/tree/notebooks/{notebook}?token={self.token}")
        page.locator(f"{TAB}.lm-mod-current", has_text=notebook).wait_for(timeout=90000)
        page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook").first.wait_for(
            timeout=90000)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:  # its kernel has started and waits
            if any(s["path"].endswith(notebook) and s["kernel"]["execution_state"] == "idle"
                   for s in self.api("GET", "api/sessions")):
                page.wait_for_timeout(1000)
                return
            page.wait_for_timeout(500)
        raise TimeoutError(f"no idle kernel for {notebook}")

    def close(self, page, notebook: str) -> None:
        """Close ``notebook``'s tab (its kernel goes on running, as the learner left it)."""
        tab = page.locator(TAB, has_text=notebook)
        tab.locator(".lm-TabBar-tabCloseIcon").click()
        tab.wait_for(state="detached", timeout=30000)

    def run_all(self, page, notebook: str, timeout: float = 600) -> dict:
        """Run All Cells, wait until every cell has run, save; the saved notebook."""
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()
        path = self.root / "notebooks" / notebook
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            page.wait_for_timeout(1000)
            state = self.api("GET", f"api/kernels/{self.kernel_of(notebook)}")
            if state["execution_state"] != "idle":
                continue
            page.keyboard.press("Control+s")
            page.wait_for_timeout(1000)
            nb = json.loads(path.read_text())
            code = [c for c in nb["cells"] if c["cell_type"] == "code"]
            errors = [o for c in code for o in c["outputs"] if o["output_type"] == "error"]
            if errors or all(c["execution_count"] for c in code):
                return nb
        raise TimeoutError(f"{notebook} did not finish within {timeout:.0f} s")

    @staticmethod
    def frame(page):
        """The visible notebook's (last) TensorBoard frame."""
        return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) "
                            "iframe[id^=tensorboard-frame]").last

    def frame_src(self, page) -> str:
        """The ``src`` of the visible notebook's TensorBoard frame, once it is set."""
        frame = self.frame(page)
        try:
            frame.wait_for(state="attached", timeout=60000)
            frame.scroll_into_view_if_needed()
            page.wait_for_function("e => !!e.src", arg=frame.element_handle(), timeout=60000)
        except Exception:
            page.screenshot(path=str(folders.build_dir() / "frame-missing.png"))
            print(page.evaluate("() => Array.from(document.querySelectorAll('iframe')).map("
                                "f => [f.id, f.src, f.closest('.jp-NotebookPanel') "
                                "&& f.closest('.jp-NotebookPanel').className])"))
            raise
        return frame.evaluate("e => e.src")


def copy_project(root: Path) -> Path:
    """A fresh copy of the notebooks beside the real data, and no runs yet."""
    shutil.copytree(paths.notebooks_dir(), root / "notebooks", symlinks=True,
                    ignore=shutil.ignore_patterns("*.py", "__pycache__",
                                                  ".ipynb_checkpoints"))
    (root / "data").symlink_to(paths.data_root())
    return root
