"""An MCP stdio server that never answers: it reads requests (so its pipe never fills) and says
nothing, as a server stuck at start-up does. Row 11 configures it next to two real servers."""

import sys

for _line in sys.stdin:
    pass
