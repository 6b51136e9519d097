"""The results format, HTML/Markdown reports, comparisons, gates and history."""
