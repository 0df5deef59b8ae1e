/*
 * A port's view of the JS PacketArena (common.h, struct tvs_arena), taken once at open: checked,
 * and referenced so it stays alive (js_burst.c checks per burst that it is still attached).
 */
#include <stdbool.h>

#include <node_api.h>

#include "js_args.h"
#include "port_arena.h"
#include "port_table.h"

/* Read the ArenaView object into p->arena and take references. 0 and a pending exception on error. */
int take_arena(napi_env env, napi_value obj, struct port *p) {
  napi_value buf, start, len, v;
  bool is = false;
  void *data;
  size_t size;
  uint32_t slot_size, headroom;
  if (!get_prop(env, obj, "buffer", &buf) || napi_is_arraybuffer(env, buf, &is) != napi_ok || !is) {
    throw_arg(env, "arena.buffer must be an ArrayBuffer");
    return 0;
  }
  napi_get_arraybuffer_info(env, buf, &data, &size);
  if (!get_prop(env, obj, "slotSize", &v) || napi_get_value_uint32(env, v, &slot_size) != napi_ok ||
      !get_prop(env, obj, "headroom", &v) || napi_get_value_uint32(env, v, &headroom) != napi_ok) {
    throw_arg(env, "arena.slotSize and arena.headroom must be numbers");
    return 0;
  }
  /* The vnet header takes the first 10 bytes of a slot; a frame area under 64 bytes is useless. */
  if (headroom < TVS_VNET_HDR_LEN || slot_size < headroom + 64) {
    throw_arg(env, "arena: need headroom >= 10 and slotSize >= headroom + 64");
    return 0;
  }
  if (!get_prop(env, obj, "start", &start) || !get_u32_array(env, start, &p->arena.start, &p->start_count) ||
      !get_prop(env, obj, "len", &len) || !get_u32_array(env, len, &p->arena.len, &p->len_count)) {
    throw_arg(env, "arena.start and arena.len must be Uint32Arrays");
    return 0;
  }
  /* Two slot sizes (optional: without them every slot is slotSize): smallSlots of slotSize,
   * then large slots of largeSlotSize to the end of the buffer. */
  uint32_t small_slots = 0, large_size = slot_size;
  bool has_small = get_prop(env, obj, "smallSlots", &v);
  if (has_small && (napi_get_value_uint32(env, v, &small_slots) != napi_ok || !get_prop(env, obj, "largeSlotSize", &v) ||
                    napi_get_value_uint32(env, v, &large_size) != napi_ok || large_size < slot_size ||
                    (uint64_t)small_slots * slot_size > size)) {
    throw_arg(env, "arena.smallSlots and arena.largeSlotSize must be numbers that fit the buffer");
    return 0;
  }
  size_t cap = has_small ? small_slots + (size - (size_t)small_slots * slot_size) / large_size : size / slot_size;
  if (!has_small) small_slots = (uint32_t)(cap > UINT32_MAX ? UINT32_MAX : cap);
  if (p->start_count < cap) cap = p->start_count;
  if (p->len_count < cap) cap = p->len_count;
  if (cap == 0 || cap > UINT32_MAX) {
    throw_arg(env, "arena: no usable slot (buffer, start or len too small)");
    return 0;
  }
  p->arena.bytes = data;
  p->arena.size = size;
  p->arena.slot_size = slot_size;
  p->arena.large_size = large_size;
  p->arena.small_slots = small_slots;
  p->arena.headroom = headroom;
  p->arena.capacity = (uint32_t)cap;
  napi_create_reference(env, buf, 1, &p->buf_ref);
  napi_create_reference(env, start, 1, &p->start_ref);
  napi_create_reference(env, len, 1, &p->len_ref);
  return 1;
}
