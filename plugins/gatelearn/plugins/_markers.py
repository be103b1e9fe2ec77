"""The pluggy markers, apart from everything else so that any module can import them."""

import pluggy

PROJECT = "gatelearn"

hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)
