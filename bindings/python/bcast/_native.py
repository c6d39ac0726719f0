"""libbcast_c loaded through ctypes, with the prototype of every function the package calls.

Where the library is looked for, first found wins:
  1. $BCAST_C_LIBRARY: the path of libbcast_c.so.1 (or of the .so symlink);
  2. $BCAST_BUILD_DIR: a CMake build directory of bcastd (its bindings/c/libbcast_c.so.1);
  3. the build directories of the source tree this package sits in, when it runs from one
     (build/dev, then any other build/*);
  4. the dynamic linker's search (LD_LIBRARY_PATH, /etc/ld.so.cache, /usr/local/lib, ...).
"""
import ctypes
import ctypes.util
import glob
import os

LIBRARY_NAME = "libbcast_c.so.1"
ABI_VERSION = 1


class LibraryNotFound(ImportError):
    pass


def _candidates():
    explicit = os.environ.get("BCAST_C_LIBRARY")
    if explicit:
        yield explicit
        return  # an explicit choice is not second-guessed
    build_dir = os.environ.get("BCAST_BUILD_DIR")
    if build_dir:
        yield os.path.join(build_dir, "bindings", "c", LIBRARY_NAME)
    here = os.path.dirname(os.path.abspath(__file__))
    source_root = os.path.dirname(os.path.dirname(os.path.dirname(here)))
    if os.path.isfile(os.path.join(source_root, "bindings", "c", "include", "bcast", "bcast.h")):
        builds = os.path.join(source_root, "build")
        preferred = os.path.join(builds, "dev", "bindings", "c", LIBRARY_NAME)
        yield preferred
        for path in sorted(glob.glob(os.path.join(builds, "*", "bindings", "c", LIBRARY_NAME))):
            if path != preferred:
                yield path
    yield LIBRARY_NAME
    found = ctypes.util.find_library("bcast_c")
    if found:
        yield found


def load():
    tried = []
    for candidate in _candidates():
        if os.sep in candidate and not os.path.exists(candidate):
            tried.append(f"{candidate} (absent)")
            continue
        try:
            library = ctypes.CDLL(candidate)
        except OSError as e:
            tried.append(f"{candidate} ({e})")
            continue
        _declare(library)
        if library.bcast_abi_version() != ABI_VERSION:
            tried.append(f"{candidate} (ABI version {library.bcast_abi_version()}, "
                         f"this package needs {ABI_VERSION})")
            continue
        return library
    raise LibraryNotFound(
        "cannot load libbcast_c (build it with `cmake --build BUILD --target bcast_c`, then set "
        "BCAST_C_LIBRARY=BUILD/bindings/c/libbcast_c.so.1 or BCAST_BUILD_DIR=BUILD, or install "
        "it); tried: " + "; ".join(tried))


# Opaque handles are plain pointers on this side.
_p = ctypes.c_void_p
_pp = ctypes.POINTER(ctypes.c_void_p)
_u64 = ctypes.c_uint64
_size = ctypes.c_size_t
_int = ctypes.c_int
_str = ctypes.c_char_p

EVENT_CALLBACK = ctypes.CFUNCTYPE(None, _p, _p)

_PROTOTYPES = {
    "bcast_abi_version": (_int, []),
    "bcast_version": (_str, []),
    "bcast_protocol_version": (ctypes.c_uint32, []),
    "bcast_code_name": (_str, [_int]),
    "bcast_error_code": (_int, [_p]),
    "bcast_error_message": (_str, [_p]),
    "bcast_error_free": (None, [_p]),
    "bcast_options_new": (_p, []),
    "bcast_options_free": (None, [_p]),
    "bcast_options_set_socket_path": (_int, [_p, _str]),
    "bcast_options_set_client_name": (_int, [_p, _str]),
    "bcast_options_set_max_in_flight": (_int, [_p, _size]),
    "bcast_options_set_request_timeout_ms": (_int, [_p, ctypes.c_int64]),
    "bcast_options_set_max_frame_bytes": (_int, [_p, ctypes.c_int64]),
    "bcast_connect": (_int, [_p, _pp, _pp]),
    "bcast_client_close": (None, [_p]),
    "bcast_join": (_int, [_p, _str, _size, _pp]),
    "bcast_leave": (_int, [_p, _str, _size, _pp]),
    "bcast_publish": (_int, [_p, _str, _size, _int, _int, _str, _size,
                             ctypes.POINTER(_u64), _pp]),
    "bcast_publish_and_wait": (_int, [_p, _str, _size, _int, _int, _str, _size,
                                      ctypes.c_int64, _pp, _pp]),
    "bcast_next_event": (_int, [_p, ctypes.c_int64, _pp, _pp]),
    "bcast_event_free": (None, [_p]),
    "bcast_event_kind": (_int, [_p]),
    "bcast_event_request_id": (_u64, [_p]),
    "bcast_event_seq": (_u64, [_p]),
    "bcast_event_gseq": (_int, [_p, ctypes.POINTER(_u64)]),
    "bcast_event_group": (ctypes.POINTER(ctypes.c_char), [_p, ctypes.POINTER(_size)]),
    "bcast_event_sender": (_u64, [_p]),
    "bcast_event_mode": (_int, [_p]),
    "bcast_event_order": (_int, [_p]),
    "bcast_event_payload": (ctypes.POINTER(ctypes.c_char), [_p, ctypes.POINTER(_size)]),
    "bcast_event_member_count": (_size, [_p]),
    "bcast_event_member": (_u64, [_p, _size]),
    "bcast_event_error_code": (_int, [_p]),
    "bcast_event_error_message": (_str, [_p]),
    "bcast_get_status": (_int, [_p, _pp, _pp]),
    "bcast_status_free": (None, [_p]),
    "bcast_status_node_id": (_u64, [_p]),
    "bcast_status_role": (_str, [_p]),
    "bcast_status_term": (_u64, [_p]),
    "bcast_status_leader": (_int, [_p, ctypes.POINTER(_u64)]),
    "bcast_status_member_count": (_size, [_p]),
    "bcast_status_member": (_u64, [_p, _size]),
    "bcast_status_commit_index": (_u64, [_p]),
    "bcast_client_fd": (_int, [_p]),
    "bcast_client_sender": (_u64, [_p]),
    "bcast_client_node_id": (_u64, [_p]),
    "bcast_client_max_message_bytes": (_u64, [_p]),
    "bcast_client_in_flight": (_size, [_p]),
    "bcast_client_has_queued_events": (_int, [_p]),
}


# Added in BCAST_C_1.1 (gap events): declared when the library has them, so that a library of the
# same ABI version from before them still loads (it sends no gap events either).
_PROTOTYPES_1_1 = {
    "bcast_event_gap": (_int, [_p, ctypes.POINTER(_u64), ctypes.POINTER(_u64),
                               ctypes.POINTER(_u64)]),
    "bcast_event_gap_reason": (_str, [_p]),
    "bcast_event_stream_seq": (_u64, [_p]),
    "bcast_join_from": (_int, [_p, _str, _size, _u64, _pp]),
}


def _declare(library):
    for name, (restype, argtypes) in _PROTOTYPES.items():
        function = getattr(library, name)
        function.restype = restype
        function.argtypes = argtypes
    for name, (restype, argtypes) in _PROTOTYPES_1_1.items():
        if hasattr(library, name):
            function = getattr(library, name)
            function.restype = restype
            function.argtypes = argtypes
