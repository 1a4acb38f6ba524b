"""The ``mail`` message catalog: every e-mail's text in English (the msgids), Norwegian bokmål and Swedish.

``python -m dataright.mail.i18n`` prints the msgids a catalog still lacks (exit 1 when one does).
"""

from __future__ import annotations

import sys

from dataright.declarations.catalogs import MessageCatalog

CATALOG = MessageCatalog(
    package="dataright.mail",
    domain="mail",
    python_packages=("dataright.mail",),
    template_package="dataright.mail",
)

if __name__ == "__main__":
    sys.exit(CATALOG.report_missing())
