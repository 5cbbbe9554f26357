#!/bin/sh
# powercut_ahead.sh - powercut.sh with logins only (a third user's instead
# of the inserter): the log then holds only records replaced by ones of the
# same size, which are written into the base ahead of the checkpoint, and a
# power cut can come while that is being done, or after (tests/db/ahead.sh
# shows the same logins do write it ahead).
POWERCUT_INSERT=0
. "$OTP_SRC/tests/db/powercut.sh"
