"""The pull-request report: compare two revisions of a DVC project, judge them, render Markdown and figures."""
