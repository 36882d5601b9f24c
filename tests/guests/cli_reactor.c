// wink-guest-flags: -mexec-model=reactor
// A reactor whose state is set up by a constructor, which runs in
// `_initialize`: `wink run --invoke` must call it first, as wasmtime does.
static int ready;

__attribute__((constructor)) static void setup(void) { ready = 42; }

__attribute__((export_name("ready"))) int get_ready(void) { return ready; }
