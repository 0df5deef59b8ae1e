# The native I/O addon: plain C11 against N-API (node_api.h), no node-addon-api.
# Built by `make native` (node-gyp rebuild --nodedir=<local node>): nothing is downloaded.
{
  "targets": [
    {
      "target_name": "tvs_native",
      "sources": [
        "src/addon.c",
        "src/js_open.c",
        "src/js_info.c",
        "src/js_burst.c",
        "src/js_poll.c",
        "src/js_process.c",
        "src/js_test_hooks.c",
        "src/js_args.c",
        "src/port_table.c",
        "src/port_arena.c",
        "src/port_kinds.c",
        "src/poller.c",
        "src/spinner.c",
        "src/ahead_timer.c",
        "src/afpacket.c",
        "src/txring.c",
        "src/tap.c",
        "src/scratch.c",
        "src/netdev.c",
        "src/underlay.c",
        "src/memtrim.c",
        "src/threadsched.c",
        "src/wakeahead.c",
        "src/linkmon.c",
        "src/linkmon_glue.c"
      ],
      # NAPI_VERSION 8: make_callback, env cleanup hooks, instance data, detached-buffer checks.
      "defines": ["_GNU_SOURCE", "NAPI_VERSION=8"],
      # Hidden by default: the glue's files share plain names (lookup, dispatch, ...) that must
      # bind to each other, not to a namesake elsewhere in the process; N-API's entry points are
      # marked visible by node_api.h itself.
      "cflags_c": ["-std=c11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
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
