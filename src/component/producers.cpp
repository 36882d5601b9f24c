// The top-level producers section of a component (producers.h).
#include "component/producers.h"

#include "component/reader.h"

namespace wink::component {

Result<std::vector<Producer>> read_producers(std::span<const uint8_t> component) {
  std::vector<Producer> out;
  if (component.size() < 8) return out;
  Reader top(component.subspan(8), 8, "component");
  while (!top.at_end()) {
    WINK_ASSIGN_OR_RETURN(uint8_t id, top.byte());
    WINK_ASSIGN_OR_RETURN(uint32_t size, top.u32());
    WINK_ASSIGN_OR_RETURN(Reader section, top.sub(size, "custom section"));
    if (id != 0) continue;
    WINK_ASSIGN_OR_RETURN(std::string name, section.name());
    if (name != "producers") continue;
    Reader r = std::move(section);
    WINK_ASSIGN_OR_RETURN(uint32_t fields, r.count("producers fields", 2));
    for (uint32_t f = 0; f < fields; ++f) {
      WINK_ASSIGN_OR_RETURN(std::string field, r.name());
      WINK_ASSIGN_OR_RETURN(uint32_t values, r.count("producers values", 2));
      for (uint32_t v = 0; v < values; ++v) {
        Producer p;
        p.field = field;
        WINK_ASSIGN_OR_RETURN(p.name, r.name());
        WINK_ASSIGN_OR_RETURN(p.version, r.name());
        out.push_back(std::move(p));
      }
    }
    WINK_TRY(r.expect_end());
  }
  return out;
}

}  // namespace wink::component
