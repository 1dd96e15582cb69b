/*
 * A stand-in for libgupnp-igd-1.0.so.4 that lets Debian 12's simple-whip-client (whip-client) run (docs/WHEP.md).
 *
 * whip-client 0.0~git20230131 links libsoup 2.4. Its webrtcbin (libgstwebrtc.so -> libgstwebrtcnice -> libnice10)
 * needs libgupnp-igd, which pulls gupnp 1.6 and with it libsoup 3; libsoup 3's constructor finds libsoup 2 symbols
 * in the process and aborts ("libsoup2 symbols detected"). libnice only uses gupnp-igd for UPnP port mappings: these
 * four symbols with no UPnP (a NULL IGD, which libnice handles) keep libsoup 3 out of the process.
 *
 *   cc -shared -fPIC -Wl,-soname,libgupnp-igd-1.0.so.4 -o DIR/libgupnp-igd-1.0.so.4 gupnp-igd-stub.c
 *   LD_LIBRARY_PATH=DIR whip-client ...
 */
#include <stddef.h>

unsigned long gupnp_simple_igd_get_type(void) { return 0; }
void *gupnp_simple_igd_thread_new(void) { return NULL; }
void gupnp_simple_igd_add_port(void) {}
void gupnp_simple_igd_remove_port_local(void) {}
