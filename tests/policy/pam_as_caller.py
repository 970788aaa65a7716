#!/usr/bin/python3
"""One PAM authentication in this process with another real uid, as su and sudo run PAM.

Usage (under pam_wrapper, as root): pam_as_caller.py RUID SERVICE USER TTY

Sets the real uid to RUID and keeps the effective uid 0 (setuid-root programs run the
module like that), then calls pam_start/pam_authenticate through ctypes: no exec after the
uid change, so the pam_wrapper preload stays in effect. Prints pamtester's lines so the
tests read the outcome the same way."""

import ctypes
import os
import sys

PAM_TTY = 3


class Message(ctypes.Structure):
    _fields_ = [("msg_style", ctypes.c_int), ("msg", ctypes.c_char_p)]


class Response(ctypes.Structure):
    _fields_ = [("resp", ctypes.c_void_p), ("resp_retcode", ctypes.c_int)]


CONV_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.POINTER(Message)),
                           ctypes.POINTER(ctypes.POINTER(Response)), ctypes.c_void_p)


class Conv(ctypes.Structure):
    _fields_ = [("conv", CONV_FN), ("appdata_ptr", ctypes.c_void_p)]


def main():
    ruid, service, user, tty = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    libc = ctypes.CDLL(None)
    libc.calloc.restype = ctypes.c_void_p
    libc.strerror.restype = ctypes.c_char_p

    def conv(n, msgs, resp, _):
        # Answer every message with an empty reply (memory PAM frees: calloc).
        arr = libc.calloc(n, ctypes.sizeof(Response))
        if not arr:
            return 5  # PAM_BUF_ERR
        for i in range(n):
            print("conv: %s" % msgs[i].contents.msg.decode("utf-8", "replace"), file=sys.stderr)
        resp[0] = ctypes.cast(arr, ctypes.POINTER(Response))
        return 0

    conv_fn = CONV_FN(conv)
    c = Conv(conv_fn, None)
    os.setresuid(ruid, 0, 0)
    # The preloaded pam_wrapper's symbols come first in the global scope.
    pam = ctypes.CDLL(None)
    pam.pam_strerror.restype = ctypes.c_char_p
    h = ctypes.c_void_p()
    rc = pam.pam_start(service.encode(), user.encode(), ctypes.byref(c), ctypes.byref(h))
    if rc != 0:
        print("pamtester: %s" % pam.pam_strerror(None, rc).decode())
        return 1
    pam.pam_set_item(h, PAM_TTY, tty.encode())
    rc = pam.pam_authenticate(h, 0)
    text = pam.pam_strerror(h, rc).decode()
    pam.pam_end(h, rc)
    if rc == 0:
        print("pamtester: successfully authenticated")
        return 0
    print("pamtester: %s" % text)
    return 1


if __name__ == "__main__":
    sys.exit(main())
