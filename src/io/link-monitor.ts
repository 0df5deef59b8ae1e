/**
 * The kernel's link notifications (rtnetlink RTNLGRP_LINK, native/src/linkmon.c) for the
 * datapath: a device going administratively down or up, losing or regaining carrier, or taking
 * a new Ethernet address is heard the moment the kernel announces it — what OVS's netdev-linux
 * hears — with no timer. The socket is read from the event loop only when the kernel has news,
 * beside the ports but never by their bursts.
 */
import { loadBinding, type LinkInfo, type NativeBinding, type NativeLinkMonitor } from './binding';

export type { LinkInfo };

export interface LinkMonitor {
  /** Stop listening and close the socket (idempotent). */
  close(): void;
}

export interface LinkListener {
  /** Devices whose link changed (or was announced again), in the kernel's order. */
  links(links: LinkInfo[]): void;
  /** Notifications were lost: read the state of every device of interest again. */
  overrun(): void;
  /** The socket broke (-errno) and the monitor stopped. */
  failed(errno: number): void;
}

/**
 * Listen to this namespace's link notifications; null when the addon has no link monitor (an
 * older build, a fake binding). Throws when the socket cannot be opened.
 */
export function watchLinks(listener: LinkListener, binding: NativeBinding = loadBinding()): LinkMonitor | null {
  const open = binding.linkMonitorOpen;
  const close = binding.linkMonitorClose;
  if (open === undefined || close === undefined) return null;
  let handle: NativeLinkMonitor | null = null;
  handle = open.call(binding, (links, overrun, errno) => {
    if (links.length > 0) listener.links(links);
    if (overrun) listener.overrun();
    if (errno < 0) {
      handle = null;
      listener.failed(errno);
    }
  });
  return {
    close() {
      if (handle === null) return;
      close.call(binding, handle);
      handle = null;
    },
  };
}
