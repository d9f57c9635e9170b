"""codeward: start-up code for sandboxed Python programs.

stdout is line-buffered (as on a terminal), so output arrives as the program
prints it, and writes go through a buffered layer that retries short writes
(an unbuffered stdout would lose the rest of a large write under gVisor).

Matplotlib figures come back as PNG files in /mnt/data, because a sandbox has
no screen: plt.show() saves every open figure and closes it, and at exit every
figure still open that the program did not save itself is saved. Files are
named plot_1.png, plot_2.png, ... skipping names already taken.

Nothing is imported ahead of time: a hook waits for the program itself to
import matplotlib.pyplot, then wraps pyplot.show and Figure.savefig and
registers the exit handler (after pyplot's own, so it runs before pyplot
destroys its figures).
"""
import atexit
import importlib.util
import os
import sys

_OUT = "/mnt/data"

try:
    sys.stdout.reconfigure(line_buffering=True)
except (AttributeError, ValueError):
    pass
_count = 0


def _free_name():
    global _count
    while True:
        _count += 1
        name = os.path.join(_OUT, "plot_%d.png" % _count)
        if not os.path.exists(name):
            return name


def _save_open_figures(close):
    from matplotlib import _pylab_helpers
    import matplotlib.pyplot as plt

    managers = sorted(_pylab_helpers.Gcf.get_all_fig_managers(), key=lambda m: m.num)
    for manager in managers:
        fig = manager.canvas.figure
        try:
            if not getattr(fig, "_codeward_saved", False):
                fig.savefig(_free_name(), format="png")
        except Exception as e:  # a broken figure must not hide the others
            print("codeward: figure %s not saved: %s" % (manager.num, e), file=sys.stderr)
        if close:
            plt.close(fig)


def _at_exit():
    try:
        _save_open_figures(close=False)
    except Exception as e:
        print("codeward: figures not saved: %s" % e, file=sys.stderr)


def _install(pyplot):
    from matplotlib.figure import Figure

    savefig = Figure.savefig

    def codeward_savefig(self, *args, **kwargs):
        self._codeward_saved = True
        return savefig(self, *args, **kwargs)

    def codeward_show(*args, **kwargs):
        _save_open_figures(close=True)

    codeward_savefig.__doc__ = savefig.__doc__
    codeward_show.__doc__ = pyplot.show.__doc__
    Figure.savefig = codeward_savefig
    pyplot.show = codeward_show
    atexit.register(_at_exit)


class _PyplotHook:
    """Finds matplotlib.pyplot through the normal finders, then runs
    _install on the module right after it has loaded."""

    def find_spec(self, name, path=None, target=None):
        if name != "matplotlib.pyplot":
            return None
        sys.meta_path.remove(self)
        spec = importlib.util.find_spec(name)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def codeward_exec_module(module):
            exec_module(module)
            _install(module)

        spec.loader.exec_module = codeward_exec_module
        return spec


sys.meta_path.insert(0, _PyplotHook())
