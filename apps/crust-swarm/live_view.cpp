#include "live_view.hpp"

#include "duration_text.hpp"
#include "node_tracker.hpp"

#include <algorithm>
#include <cstdarg>
#include <cstdio>
#include <sys/ioctl.h>
#include <unistd.h>

namespace crust_swarm {

namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

constexpr auto terminal_interval = milliseconds{250};
constexpr auto plain_interval = milliseconds{1000};
constexpr auto plain_heartbeat = milliseconds{5000};
constexpr size_t notes_shown = 4;

/// Lines of the screen that are not node rows: title, header, progress,
/// notes and a spare line.
constexpr int fixed_lines = 4 + static_cast<int>(notes_shown);

struct terminal_size {
  int columns = 80;
  int rows = 24;
};

terminal_size current_terminal_size() {
  terminal_size size;
  winsize ws{};
  if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0) {
    size.columns = ws.ws_col;
    size.rows = ws.ws_row;
  }
  return size;
}

std::string format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

std::string format(const char* fmt, ...) {
  char buf[512];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, args);
  va_end(args);
  return buf;
}

void write_out(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

} // namespace

live_view::live_view(bool terminal) : terminal_(terminal) {
  // nop
}

std::vector<std::string> live_view::node_table(const swarm_status& status) {
  std::vector<std::string> lines;
  std::string header = "  #  peer id   port   peers";
  for (const auto& kind : found_by::all())
    header += " " + kind;
  header += "   sent      recv  state";
  lines.push_back(header);
  for (const auto& row : status.node_rows) {
    auto line = format("%3d  %s  %5d  %2d/%-2d", row.index,
                       short_id(row.peer_id).c_str(), row.port, row.peers,
                       status.nodes - 1);
    for (const auto& kind : found_by::all()) {
      auto count = row.found.count(kind) != 0 ? row.found.at(kind) : 0;
      line += format(" %*d", static_cast<int>(kind.size()), count);
    }
    line += format(" %6d %4d/%-4d  %s", row.sent, row.received,
                   row.expected_received, row.state.c_str());
    lines.push_back(line);
  }
  return lines;
}

std::string live_view::progress_line(const swarm_status& status) {
  auto line = format("%s: links %d/%d, complete nodes %d/%d, messages %d/%d",
                     status.phase.c_str(), status.links, status.links_expected,
                     status.complete_nodes, status.nodes,
                     status.messages_delivered, status.messages_expected);
  if (status.time_to_full_connectivity)
    line += ", fully connected after "
            + seconds_text(*status.time_to_full_connectivity);
  return line;
}

void live_view::show(const swarm_status& status) {
  auto now = steady_clock::now();
  auto interval = terminal_ ? terminal_interval : plain_interval;
  if (drawn_ && now - last_draw_ < interval) {
    if (!terminal_)
      print_plain(status); // notes only, not rate-limited
    return;
  }
  if (terminal_)
    redraw(status);
  else
    print_plain(status);
}

void live_view::finish(const swarm_status& status) {
  if (terminal_) {
    redraw(status);
    write_out("\x1b[?25h");
  } else {
    last_draw_ = {};
    print_plain(status);
  }
}

void live_view::redraw(const swarm_status& status) {
  auto size = current_terminal_size();
  std::vector<std::string> lines;
  lines.push_back(format("crust-swarm  %d nodes  %s mode  %s / %s",
                         status.nodes, status.mode.c_str(),
                         seconds_text(status.elapsed).c_str(),
                         seconds_text(status.budget).c_str()));
  auto table = node_table(status);
  // Rows that do not fit would scroll the screen and break the redraw.
  auto room = std::max(1, size.rows - fixed_lines);
  if (static_cast<int>(table.size()) - 1 > room) {
    auto hidden = static_cast<int>(table.size()) - 1 - room;
    table.resize(static_cast<size_t>(room) + 1);
    table.push_back(format("     ... and %d more nodes", hidden));
  }
  lines.insert(lines.end(), table.begin(), table.end());
  lines.push_back(progress_line(status));
  auto first_note
    = status.notes.size() > notes_shown ? status.notes.size() - notes_shown : 0;
  for (auto i = first_note; i < status.notes.size(); ++i)
    lines.push_back("  " + status.notes[i]);
  std::string out;
  if (!drawn_)
    out += "\x1b[?25l"; // hide the cursor while redrawing
  else if (lines_on_screen_ > 0)
    out += format("\x1b[%dA", lines_on_screen_);
  for (auto& line : lines) {
    // A wrapped line would take two rows and break the cursor arithmetic.
    if (static_cast<int>(line.size()) >= size.columns)
      line.resize(static_cast<size_t>(std::max(1, size.columns - 1)));
    out += "\r" + line + "\x1b[K\n";
  }
  // Lines left over from a taller previous frame.
  out += "\x1b[J";
  write_out(out);
  lines_on_screen_ = static_cast<int>(lines.size());
  drawn_ = true;
  last_draw_ = steady_clock::now();
}

void live_view::print_plain(const swarm_status& status) {
  std::string out;
  for (; notes_printed_ < status.notes.size(); ++notes_printed_)
    out += "note: " + status.notes[notes_printed_] + "\n";
  auto now = steady_clock::now();
  auto progress = progress_line(status);
  bool due = !drawn_ || now - last_draw_ >= plain_heartbeat
             || (progress != last_progress_
                 && now - last_draw_ >= plain_interval);
  if (due) {
    out += "[" + format("%6s", seconds_text(status.elapsed).c_str()) + "] "
           + progress + "\n";
    last_progress_ = progress;
    last_draw_ = now;
    drawn_ = true;
  }
  if (!out.empty())
    write_out(out);
}

} // namespace crust_swarm
