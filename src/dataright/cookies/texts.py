"""The cookie banner's words, through the ``banner`` message catalog (English msgids, nb and sv ``.po``).

``python -m dataright.cookies.texts`` prints the msgids a catalog still lacks (exit 1 when one does).
Durations are written out with Babel (``declarations.notice.words``), so "P2Y" reads "2 år" in Norwegian.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

from dataright.declarations.catalogs import N_, MessageCatalog
from dataright.declarations.notice.words import duration
from dataright.declarations.periods import Period
from dataright.declarations.schema import CookieCategory

CATALOG = MessageCatalog(package="dataright.cookies", domain="banner", python_packages=("dataright.cookies",))

CONSENT_TITLE = N_("We use cookies")
CONSENT_DESCRIPTION = N_(
    "We use cookies that this site needs to work. With your consent we also use other cookies, for the purposes "
    "you can read about under “Customize cookies”. Nothing but the necessary cookies is used until you choose, "
    "and you can change your choice at any time with the “Customize cookies” link on this site."
)
ACCEPT_ALL = N_("Accept all")
REJECT_ALL = N_("Reject all")
CUSTOMIZE = N_("Customize cookies")
PREFERENCES_TITLE = N_("Cookie preferences")
SAVE = N_("Save my choices")
CLOSE = N_("Close")
SERVICE_COUNTER = N_("Service|Services")
INTRO_TITLE = N_("Your choices")
INTRO_DESCRIPTION = N_(
    "Choose which cookies we may use. Strictly necessary cookies cannot be switched off; every other category "
    "stays off until you switch it on."
)
MORE_TITLE = N_("More information")
MORE_DESCRIPTION = N_("How we use personal data, and your rights, are described in our privacy notice.")
NOTICE_LINK = N_("Privacy notice")
GPC_HONOURED = N_(
    "Your browser sent the Global Privacy Control signal. We have honoured it: targeting cookies stay off."
)
USED_FOR = N_("Used for:")
NAME = N_("Name")
PROVIDER = N_("Provider")
DURATION = N_("Duration")
PURPOSE = N_("Purpose")
SESSION = N_("Until you close the browser")

CATEGORY_TITLES: dict[CookieCategory, str] = {
    CookieCategory.strictly_necessary: N_("Strictly necessary cookies"),
    CookieCategory.functional: N_("Functional cookies"),
    CookieCategory.performance: N_("Performance cookies"),
    CookieCategory.targeting: N_("Targeting cookies"),
}
CATEGORY_DESCRIPTIONS: dict[CookieCategory, str] = {
    CookieCategory.strictly_necessary: N_(
        "Needed for the site to work, for example to keep you logged in and to remember your cookie choices. "
        "They are always on."
    ),
    CookieCategory.functional: N_(
        "Remember your settings, such as your language, so that the site works better for you."
    ),
    CookieCategory.performance: N_("Help us understand how the site is used, so that we can improve it."),
    CookieCategory.targeting: N_("Used to show you relevant advertising and to measure how well it works."),
}


@dataclass(frozen=True)
class BannerTexts:
    """The banner's words in one language."""

    lang: str

    def _(self, message: str) -> str:
        return CATALOG.gettext(self.lang, message)

    def category_title(self, category: CookieCategory) -> str:
        return self._(CATEGORY_TITLES[category])

    def category_description(self, category: CookieCategory) -> str:
        return self._(CATEGORY_DESCRIPTIONS[category])

    def duration(self, value: Period | str) -> str:
        if isinstance(value, Period):
            return duration(value, self.lang)
        return self._(SESSION)


def texts(lang: str) -> BannerTexts:
    return BannerTexts(lang)


if __name__ == "__main__":
    sys.exit(CATALOG.report_missing())
