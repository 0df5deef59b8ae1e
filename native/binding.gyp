# The native I/O addon: plain C11 against N-API (node_api.h), no node-addon-api.
# Built by `make native` (node-gyp rebuild --nodedir=<local node>): nothing is downloaded.
{
  "targets": [
    {
      "target_name": "tvs_native",
      "sources": [
        "src/addon.c",
        "src/afpacket.c",
        "src/txring.c",
        "src/tap.c",
        "src/scratch.c",
        "src/netdev.c",
        "src/underlay.c",
        "src/memtrim.c",
        "src/threadsched.c",
        "src/wakeahead.c"
      ],
      # NAPI_VERSION 8: make_callback, env cleanup hooks, instance data, detached-buffer checks.
      "defines": ["_GNU_SOURCE", "NAPI_VERSION=8"],
      "cflags_c": ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "configurations": {
        # node's common.gypi asks for -O3; the syscall-bound code gains nothing from it.
        "Release": {
          "cflags!": ["-O3"],
          "cflags": ["-O2"]
        }
      }
    }
  ]
}
