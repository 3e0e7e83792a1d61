# omniidl back-end "omniidl_ctxfix": omniidl's C++ back-end (-bcxx) with one fix.
#
#   omniidl -p DIR -bomniidl_ctxfix [-Wb... options as for -bcxx] FILE.idl
#
# omniidl 4.2 shares one call descriptor between all operations of an
# interface with the same signature, and the signature (mangler.
# produce_signature) ignores context clauses. So in Everything.idl
# `void withContext(in long x) context("USER", "HOST*")` gets the call
# descriptor of the `counter` attribute's setter (void, in long): the
# generated SK.cc does not compile (the local-call function calls
# withContext(x) without the Context) and would not marshal the context.
# Here the context names are appended to the signature of every operation
# that has them, so such an operation gets its own descriptor; operations
# without contexts are generated exactly as by -bcxx.
from omniidl_be.cxx import *  # noqa: F401,F403 (cpp_args, usage_string, ...)

import omniidl_be.cxx as _cxx
from omniidl_be.cxx import call as _call

_orig_init = _call.Callable.__init__


def _init(self, *args, **kwargs):
    _orig_init(self, *args, **kwargs)
    contexts = self.contexts()
    if contexts:
        tag = "_ctx_" + "_".join(
            "".join(ch if ch.isalnum() else "_%02x" % ord(ch) for ch in c) for c in contexts)
        self._Callable__signature = self._Callable__signature + tag


_call.Callable.__init__ = _init


def run(tree, args):
    return _cxx.run(tree, args)
