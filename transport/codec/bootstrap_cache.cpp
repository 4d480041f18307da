#include "crust/transport/codec/bootstrap_cache.hpp"

#include <algorithm>

namespace crust {

bool operator==(const cache_entry& x, const cache_entry& y) {
  return x.id == y.id && x.endpoints == y.endpoints
         && x.last_seen == y.last_seen;
}

bootstrap_cache::bootstrap_cache(size_t capacity) : capacity_(capacity) {
  // nop
}

std::vector<endpoint>
bootstrap_cache::usable_endpoints(const std::vector<endpoint>& endpoints) {
  std::vector<endpoint> out;
  for (const auto& ep : endpoints) {
    if (out.size() == max_endpoints)
      break;
    if (ep.port == 0 || ep.ip.is_unspecified())
      continue;
    if (std::find(out.begin(), out.end(), ep) != out.end())
      continue;
    out.push_back(ep);
  }
  return out;
}

bool bootstrap_cache::add(const peer_id& id,
                          const std::vector<endpoint>& endpoints,
                          peer_origin origin, time_point now) {
  if (origin != peer_origin::direct || id.is_zero() || capacity_ == 0)
    return false;
  auto usable = usable_endpoints(endpoints);
  if (usable.empty())
    return false;
  if (auto i = index_.find(id); i != index_.end()) {
    auto pos = i->second;
    pos->endpoints = std::move(usable);
    pos->last_seen = now;
    order_.splice(order_.begin(), order_, pos);
    return true;
  }
  order_.push_front(cache_entry{id, std::move(usable), now});
  index_.emplace(id, order_.begin());
  evict_beyond_capacity();
  return true;
}

bool bootstrap_cache::append(const cache_entry& entry) {
  if (entry.id.is_zero() || order_.size() >= capacity_
      || index_.count(entry.id) != 0)
    return false;
  auto usable = usable_endpoints(entry.endpoints);
  if (usable.empty())
    return false;
  order_.push_back(cache_entry{entry.id, std::move(usable), entry.last_seen});
  index_.emplace(entry.id, std::prev(order_.end()));
  return true;
}

bool bootstrap_cache::touch(const peer_id& id, time_point now) {
  auto i = index_.find(id);
  if (i == index_.end())
    return false;
  i->second->last_seen = now;
  order_.splice(order_.begin(), order_, i->second);
  return true;
}

bool bootstrap_cache::remove(const peer_id& id) {
  auto i = index_.find(id);
  if (i == index_.end())
    return false;
  order_.erase(i->second);
  index_.erase(i);
  return true;
}

void bootstrap_cache::clear() {
  order_.clear();
  index_.clear();
}

std::optional<cache_entry> bootstrap_cache::find(const peer_id& id) const {
  auto i = index_.find(id);
  if (i == index_.end())
    return std::nullopt;
  return *i->second;
}

std::vector<cache_entry> bootstrap_cache::entries() const {
  return {order_.begin(), order_.end()};
}

std::vector<cache_entry>
bootstrap_cache::stale(time_point now,
                       std::chrono::milliseconds max_age) const {
  std::vector<cache_entry> out;
  for (const auto& entry : order_)
    if (now - entry.last_seen >= max_age)
      out.push_back(entry);
  return out;
}

void bootstrap_cache::evict_beyond_capacity() {
  while (order_.size() > capacity_) {
    index_.erase(order_.back().id);
    order_.pop_back();
  }
}

} // namespace crust
