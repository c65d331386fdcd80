"""How a request fails (HelperError, with the code the client maps) and how the daemon logs."""

import os, sys, time


class HelperError(Exception):
    """A request failed: raised as HelperError(code, message), `code` being the stable error code for the client."""



def log(message):
    sys.stderr.write("%s sessh-daemon[%d]: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%S"), os.getpid(), message))
    sys.stderr.flush()
