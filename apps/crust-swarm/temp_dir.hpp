#pragma once

#include <string>

namespace crust_swarm {

/// A fresh directory under $TMPDIR (or /tmp), removed with its content by
/// the destructor unless `keep()` was called.
class temp_dir {
public:
  /// Creates the directory; `path()` is empty and `error` set on failure.
  temp_dir(const std::string& prefix, std::string& error);

  ~temp_dir();

  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::string& path() const {
    return path_;
  }

  void keep() {
    keep_ = true;
  }

private:
  std::string path_;
  bool keep_ = false;
};

} // namespace crust_swarm
