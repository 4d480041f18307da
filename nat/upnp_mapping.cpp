#include "crust/nat/upnp_mapping.hpp"

#include <algorithm>
#include <miniupnpc/miniupnpc.h>
#include <miniupnpc/upnpcommands.h>
#include <miniupnpc/upnperrors.h>
#include <string>

namespace crust {

namespace {

// miniupnpc's SOAP error codes: "ConflictInMappingEntry" and its IGDv2
// cousin "OnlyPermanentLeasesSupported".
constexpr int conflict_in_mapping_entry = 718;
constexpr int only_permanent_leases = 725;

std::string describe(const char* call, int code) {
  const char* text = strupnperror(code);
  return std::string{call} + " failed: " + std::to_string(code)
         + (text ? std::string{" ("} + text + ")" : std::string{});
}

} // namespace

struct upnp_gateway::igd {
  UPNPUrls urls{};
  IGDdatas data{};
  char lan_address[64] = {};

  ~igd() {
    FreeUPNPUrls(&urls);
  }
};

upnp_gateway::upnp_gateway() = default;

upnp_gateway::~upnp_gateway() = default;

bool upnp_gateway::discover(std::chrono::milliseconds timeout) {
  igd_.reset();
  int err = 0;
  // Only the IGD device types, each searched for half the time:
  // upnpDiscover() tries more types, waiting the full delay for each.
  const char* const igd_types[]
    = {"urn:schemas-upnp-org:device:InternetGatewayDevice:2",
       "urn:schemas-upnp-org:device:InternetGatewayDevice:1", nullptr};
  auto per_type = std::max<long long>(timeout.count() / 2, 100);
  auto* devices = upnpDiscoverDevices(igd_types, static_cast<int>(per_type),
                                      nullptr, nullptr, UPNP_LOCAL_PORT_ANY, 0,
                                      2, &err, 0);
  if (devices == nullptr) {
    error_ = "no UPnP device answered the SSDP search (error "
             + std::to_string(err) + ")";
    return false;
  }
  auto found = std::make_unique<igd>();
  auto status = UPNP_GetValidIGD(devices, &found->urls, &found->data,
                                 found->lan_address,
                                 sizeof(found->lan_address));
  freeUPNPDevlist(devices);
  if (status != 1) {
    // 0: nothing usable (urls untouched); 2: an IGD that is not
    // connected; 3: a UPnP device that is not an IGD.
    error_ = status == 0   ? "no valid IGD found"
             : status == 2 ? "the IGD reports it is not connected"
                           : "a UPnP device answered but it is not an IGD";
    return false;
  }
  igd_ = std::move(found);
  return true;
}

bool upnp_gateway::external_address(std::string& out) {
  if (!igd_) {
    error_ = "no IGD discovered";
    return false;
  }
  char address[40] = {};
  auto code = UPNP_GetExternalIPAddress(igd_->urls.controlURL,
                                        igd_->data.first.servicetype, address);
  if (code != UPNPCOMMAND_SUCCESS || address[0] == '\0') {
    error_ = describe("GetExternalIPAddress", code);
    return false;
  }
  out = address;
  return true;
}

bool upnp_gateway::add_tcp(uint16_t internal_port, uint16_t external_port,
                           std::chrono::seconds lease,
                           const std::string& description, port_mapping& out) {
  if (!igd_) {
    error_ = "no IGD discovered";
    return false;
  }
  std::string external_address_text;
  if (!external_address(external_address_text))
    return false;
  auto wanted = std::to_string(external_port ? external_port : internal_port);
  auto internal = std::to_string(internal_port);
  auto lease_text = std::to_string(lease.count());
  const auto* control = igd_->urls.controlURL;
  const auto* service = igd_->data.first.servicetype;
  auto code = UPNP_AddPortMapping(control, service, wanted.c_str(),
                                  internal.c_str(), igd_->lan_address,
                                  description.c_str(), "TCP", nullptr,
                                  lease_text.c_str());
  if (code == only_permanent_leases) {
    // Some IGDv1 gateways accept only permanent leases.
    lease_text = "0";
    code = UPNP_AddPortMapping(control, service, wanted.c_str(),
                               internal.c_str(), igd_->lan_address,
                               description.c_str(), "TCP", nullptr, "0");
  }
  std::string granted = wanted;
  if (code == conflict_in_mapping_entry) {
    // Taken by someone else: let an IGDv2 pick a free port.
    char reserved[8] = {};
    code = UPNP_AddAnyPortMapping(control, service, wanted.c_str(),
                                  internal.c_str(), igd_->lan_address,
                                  description.c_str(), "TCP", nullptr,
                                  lease_text.c_str(), reserved);
    if (code == UPNPCOMMAND_SUCCESS)
      granted = reserved;
  }
  if (code != UPNPCOMMAND_SUCCESS) {
    error_ = describe("AddPortMapping", code);
    return false;
  }
  out.method = "upnp";
  out.external_address = external_address_text;
  out.external_port = static_cast<uint16_t>(std::stoul(granted));
  out.internal_address = igd_->lan_address;
  out.internal_port = internal_port;
  out.lease_seconds = static_cast<uint32_t>(std::stoul(lease_text));
  return true;
}

bool upnp_gateway::remove_tcp(const port_mapping& mapping) {
  if (!igd_) {
    error_ = "no IGD discovered";
    return false;
  }
  auto port = std::to_string(mapping.external_port);
  auto code = UPNP_DeletePortMapping(igd_->urls.controlURL,
                                     igd_->data.first.servicetype, port.c_str(),
                                     "TCP", nullptr);
  if (code != UPNPCOMMAND_SUCCESS) {
    error_ = describe("DeletePortMapping", code);
    return false;
  }
  return true;
}

} // namespace crust
