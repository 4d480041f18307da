#include "crust/nat/natpmp_mapping.hpp"

// strnatpmperr() is declared only on request (libnatpmp exports it).
#define ENABLE_STRNATPMPERR
#include <arpa/inet.h>
#include <natpmp.h>
#include <string>
#include <sys/select.h>

namespace crust {

// libnatpmp's handle (its UDP socket to the gateway), opened once.
struct natpmp_gateway::state {
  natpmp_t handle{};

  state() = default;
  state(const state&) = delete;
  state& operator=(const state&) = delete;
  ~state() {
    closenatpmp(&handle);
  }
};

natpmp_gateway::natpmp_gateway() = default;

natpmp_gateway::~natpmp_gateway() = default;

bool natpmp_gateway::open() {
  if (state_)
    return true;
  natpmp_t handle{};
  // 0, 0: the gateway is our default route's next hop.
  auto code = initnatpmp(&handle, 0, 0);
  if (code < 0) {
    error_ = std::string{"initnatpmp: "} + strnatpmperr(code);
    return false;
  }
  state_ = std::make_unique<state>();
  state_->handle = handle;
  return true;
}

bool natpmp_gateway::await_response(void* response,
                                    std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  auto* resp = static_cast<natpmpresp_t*>(response);
  auto deadline = clock::now() + timeout;
  while (true) {
    auto left = deadline - clock::now();
    if (left <= clock::duration::zero()) {
      error_ = "no NAT-PMP answer from the gateway in "
               + std::to_string(timeout.count()) + " ms";
      return false;
    }
    timeval wait{};
    getnatpmprequesttimeout(&state_->handle, &wait);
    auto left_us
      = std::chrono::duration_cast<std::chrono::microseconds>(left).count();
    auto wait_us = static_cast<long long>(wait.tv_sec) * 1000000 + wait.tv_usec;
    if (wait_us > left_us || wait_us < 0) {
      wait.tv_sec = static_cast<time_t>(left_us / 1000000);
      wait.tv_usec = static_cast<suseconds_t>(left_us % 1000000);
    }
    fd_set readable;
    FD_ZERO(&readable);
    FD_SET(state_->handle.s, &readable);
    select(state_->handle.s + 1, &readable, nullptr, nullptr, &wait);
    auto code = readnatpmpresponseorretry(&state_->handle, resp);
    if (code == 0)
      return true;
    if (code != NATPMP_TRYAGAIN) {
      error_ = std::string{"NAT-PMP: "} + strnatpmperr(code);
      return false;
    }
  }
}

bool natpmp_gateway::external_address(std::string& out,
                                      std::chrono::milliseconds timeout) {
  if (!open())
    return false;
  auto code = sendpublicaddressrequest(&state_->handle);
  if (code < 0) {
    error_ = std::string{"NAT-PMP: "} + strnatpmperr(code);
    return false;
  }
  natpmpresp_t response{};
  if (!await_response(&response, timeout))
    return false;
  char text[INET_ADDRSTRLEN] = {};
  inet_ntop(AF_INET, &response.pnu.publicaddress.addr, text, sizeof(text));
  out = text;
  return true;
}

bool natpmp_gateway::add_tcp(uint16_t internal_port, uint16_t external_port,
                             std::chrono::seconds lease,
                             std::chrono::milliseconds timeout,
                             port_mapping& out) {
  std::string address;
  if (!external_address(address, timeout))
    return false;
  auto code = sendnewportmappingrequest(
    &state_->handle, NATPMP_PROTOCOL_TCP, internal_port,
    external_port ? external_port : internal_port,
    static_cast<uint32_t>(lease.count()));
  if (code < 0) {
    error_ = std::string{"NAT-PMP: "} + strnatpmperr(code);
    return false;
  }
  natpmpresp_t response{};
  if (!await_response(&response, timeout))
    return false;
  out.method = "natpmp";
  out.external_address = address;
  out.external_port = response.pnu.newportmapping.mappedpublicport;
  // NAT-PMP maps to whoever asked and does not name our LAN address.
  out.internal_address.clear();
  out.internal_port = internal_port;
  out.lease_seconds = response.pnu.newportmapping.lifetime;
  return true;
}

bool natpmp_gateway::remove_tcp(const port_mapping& mapping,
                                std::chrono::milliseconds timeout) {
  if (!open())
    return false;
  auto code = sendnewportmappingrequest(&state_->handle, NATPMP_PROTOCOL_TCP,
                                        mapping.internal_port, 0, 0);
  if (code < 0) {
    error_ = std::string{"NAT-PMP: "} + strnatpmperr(code);
    return false;
  }
  natpmpresp_t response{};
  return await_response(&response, timeout);
}

} // namespace crust
