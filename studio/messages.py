"""Messages for visitors: in public mode, no server paths.

Error messages from the package name files so that an operator at a terminal can act on them
(``Could not load the model in /srv/app/trained_models/...``). A public server's visitors must
not learn its layout, so pages pass every error through ``for_visitor`` before showing it.
"""

from __future__ import annotations

import re

from mnist_cnn import settings

HIDDEN_PATH = "[server path]"
# An absolute POSIX path of two or more parts ("/srv/app", "/tmp/x/model.keras"), not a
# fraction such as "1/2" or an "and/or": the slash must not follow a word character.
_ABSOLUTE_PATH = re.compile(r"(?<![\w.])/(?:[^\s/'\"():,;]+/)+[^\s/'\"():,;]*")


def for_visitor(message: str) -> str:
    """``message`` as it is locally; with server paths replaced in public mode."""
    if not settings.public_mode():
        return message
    return _ABSOLUTE_PATH.sub(HIDDEN_PATH, message)
