#include "secure_channel_bench.hpp"

#include "crust/transport/noise/channel_handshake.hpp"
#include "crust/transport/noise/datagram_codec.hpp"
#include "crust/transport/noise/frame_codec.hpp"

#include "measure.hpp"
#include "raw_aead.hpp"

#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>

namespace crust::bench {

namespace {

constexpr size_t frame_payload = 16 * 1024;
constexpr size_t packet_payload = 1200;
constexpr const char* network = "crust-bench";

noise::keypair must_generate() {
  auto kp = noise::keypair::generate();
  if (!kp)
    throw std::runtime_error(kp.error().message());
  return *kp;
}

noise::channel_handshake make_side(noise::role side,
                                   const noise::keypair& static_key) {
  noise::channel_config cfg;
  cfg.side = side;
  cfg.local_static = static_key;
  cfg.network_name = network;
  auto hs = noise::channel_handshake::create(std::move(cfg));
  if (!hs)
    throw std::runtime_error(hs.error().message());
  return std::move(*hs);
}

/// One complete XX handshake between two in-process sides, both sides'
/// work included; returns both sides' transport keys.
std::pair<noise::channel_result, noise::channel_result>
full_handshake(const noise::keypair& a, const noise::keypair& b) {
  auto init = make_side(noise::role::initiator, a);
  auto resp = make_side(noise::role::responder, b);
  byte_buffer to_resp;
  byte_buffer to_init;
  auto check = [](const status& st) {
    if (!st)
      throw std::runtime_error(st.error().message());
  };
  check(init.start(to_resp));
  while (!init.done() || !resp.done()) {
    if (!to_resp.empty()) {
      auto n = resp.on_bytes(to_resp, to_init);
      if (!n)
        throw std::runtime_error(n.error().message());
      to_resp.clear();
    }
    if (!to_init.empty()) {
      auto n = init.on_bytes(to_init, to_resp);
      if (!n)
        throw std::runtime_error(n.error().message());
      to_init.clear();
    }
    if (to_resp.empty() && to_init.empty() && !(init.done() && resp.done()))
      throw std::runtime_error("handshake stalled");
  }
  auto x = init.finish();
  auto y = resp.finish();
  if (!x || !y)
    throw std::runtime_error("handshake did not finish");
  return {std::move(*x), std::move(*y)};
}

struct figures {
  double handshakes_per_second = 0;
  paired_result frame;  // ops/s: seal+open of one 16 KiB frame
  paired_result packet; // ops/s: seal+open of one 1200-byte packet
};

figures measure(const secure_channel_options& opts) {
  using seconds = std::chrono::duration<double>;
  auto budget = seconds{opts.seconds_per_round};
  figures result;
  auto a = must_generate();
  auto b = must_generate();
  // Handshakes: no baseline of the same work exists in OpenSSL; the figure
  // is absolute (target: 2,000/s on one core).
  std::vector<double> hs;
  for (int i = 0; i < opts.rounds; ++i)
    hs.push_back(ops_per_second(
      [&] {
        full_handshake(a, b);
      },
      budget, 4));
  result.handshakes_per_second = median(hs);
  // Stream frames through the whole codec: encode, decode, reassemble.
  {
    auto [x, y] = full_handshake(a, b);
    noise::frame_encoder enc{std::move(x.keys.send)};
    noise::frame_decoder dec{std::move(y.keys.receive)};
    byte_buffer msg(frame_payload, 0x5a);
    byte_buffer wire;
    size_t delivered = 0;
    auto crust_op = [&] {
      wire.clear();
      if (!enc.encode_message(msg, 0, wire))
        throw std::runtime_error("frame encode failed");
      auto st = dec.feed(wire, [&](const noise::frame_event& ev) {
        delivered += ev.message.size();
      });
      if (!st)
        throw std::runtime_error(st.error().message());
    };
    raw_aead raw;
    byte_buffer buf(frame_payload + 16, 0x5a);
    uint64_t n = 0;
    auto raw_op = [&] {
      raw.seal(buf.data(), frame_payload, n);
      if (!raw.open(buf.data(), frame_payload + 16, n++))
        throw std::runtime_error("raw open failed");
    };
    result.frame = measure_pair(crust_op, raw_op, opts.rounds, budget);
    if (delivered == 0)
      throw std::runtime_error("no frame delivered");
  }
  // Datagrams: packet number as nonce, replay window on receipt.
  {
    auto [x, y] = full_handshake(a, b);
    noise::datagram_codec sender{std::move(x.keys.send),
                                 std::move(x.keys.receive)};
    noise::datagram_codec receiver{std::move(y.keys.send),
                                   std::move(y.keys.receive)};
    byte_buffer payload(packet_payload, 0x5a);
    byte_buffer packet;
    byte_buffer plain;
    auto crust_op = [&] {
      packet.clear();
      plain.clear();
      if (!sender.seal({}, payload, packet))
        throw std::runtime_error("packet seal failed");
      if (!receiver.open({}, packet, plain))
        throw std::runtime_error("packet open failed");
    };
    raw_aead raw;
    byte_buffer buf(packet_payload + 16, 0x5a);
    uint64_t n = 0;
    auto raw_op = [&] {
      raw.seal(buf.data(), packet_payload, n);
      if (!raw.open(buf.data(), packet_payload + 16, n++))
        throw std::runtime_error("raw open failed");
    };
    result.packet = measure_pair(crust_op, raw_op, opts.rounds, budget);
  }
  return result;
}

double mib_per_second(double ops, size_t size) {
  return ops * static_cast<double>(size) / (1024.0 * 1024.0);
}

} // namespace

int run_secure_channel_bench(const secure_channel_options& opts,
                             std::ostream& out) {
  figures f;
  try {
    f = measure(opts);
  } catch (const std::exception& ex) {
    out << "secure-channel benchmark failed: " << ex.what() << '\n';
    return 1;
  }
  auto fr_c = mib_per_second(f.frame.candidate, frame_payload);
  auto fr_r = mib_per_second(f.frame.baseline, frame_payload);
  auto pk_c = mib_per_second(f.packet.candidate, packet_payload);
  auto pk_r = mib_per_second(f.packet.baseline, packet_payload);
  char line[768];
  if (opts.json) {
    std::snprintf(
      line, sizeof(line),
      "{\"mode\":\"secure-channel\",\"rounds\":%d,\"seconds_per_round\":%.3f,"
      "\"handshakes_per_second\":%.0f,"
      "\"frame_16k_crust_mib_per_s\":%.1f,\"frame_16k_raw_aead_mib_per_s\":%."
      "1f,"
      "\"frame_16k_ratio\":%.3f,\"frame_16k_ratio_min\":%.3f,"
      "\"frame_16k_ratio_max\":%.3f,"
      "\"packet_1200_crust_mib_per_s\":%.1f,"
      "\"packet_1200_raw_aead_mib_per_s\":%.1f,\"packet_1200_ratio\":%.3f,"
      "\"packet_1200_ratio_min\":%.3f,\"packet_1200_ratio_max\":%.3f}",
      opts.rounds, opts.seconds_per_round, f.handshakes_per_second, fr_c, fr_r,
      f.frame.ratio, f.frame.ratio_min, f.frame.ratio_max, pk_c, pk_r,
      f.packet.ratio, f.packet.ratio_min, f.packet.ratio_max);
    out << line << '\n';
    return 0;
  }
  out << "secure-channel (Noise_XX_25519_ChaChaPoly_SHA256, one core, median "
         "of "
      << opts.rounds << " rounds)\n";
  std::snprintf(line, sizeof(line),
                "  full XX handshakes:   %8.0f /s  (target >= 2000)\n",
                f.handshakes_per_second);
  out << line;
  std::snprintf(line, sizeof(line),
                "  16 KiB frames:        %8.1f MiB/s crust, %8.1f MiB/s raw "
                "AEAD, ratio %.3f [%.3f..%.3f] (target >= 0.85)\n",
                fr_c, fr_r, f.frame.ratio, f.frame.ratio_min,
                f.frame.ratio_max);
  out << line;
  std::snprintf(line, sizeof(line),
                "  1200-byte packets:    %8.1f MiB/s crust, %8.1f MiB/s raw "
                "AEAD, ratio %.3f [%.3f..%.3f]\n",
                pk_c, pk_r, f.packet.ratio, f.packet.ratio_min,
                f.packet.ratio_max);
  out << line;
  return 0;
}

} // namespace crust::bench
