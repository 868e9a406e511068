"""The run report: one self-contained HTML page per run, rendered from its record alone."""

from .render import load_run, render_html, render_report, write_report

__all__ = ["load_run", "render_html", "render_report", "write_report"]
