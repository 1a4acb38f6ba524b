"""The privacy notice, generated from the declaration in each language a controller publishes in."""

from dataright.declarations.notice.render import FORMATS, Format, render_notice

__all__ = ["FORMATS", "Format", "render_notice"]
