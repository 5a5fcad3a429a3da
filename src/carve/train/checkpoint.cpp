#include "carve/train/checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/cuda.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <sstream>
#include <type_traits>

#include "carve/data/file_bytes.h"
#include "carve/error.h"
#include "carve/profile.h"

namespace carve {

namespace {

constexpr char kMagic[8] = {'C', 'A', 'R', 'V', 'E', 'C', 'K', 'P'};
constexpr size_t kHeader = 8 + 4 + 8 + 8;
// carve 0.1's checkpoints: a bare archive with these columns (12 before pseudo_log_likelihood).
const std::vector<std::string> kV1Columns{"epoch", "loss", "reconstruction", "weight_decay", "contractive",
                                          "higher_order", "sparsity", "valid_reconstruction", "jacobian_fro",
                                          "saturation", "pseudo_log_likelihood", "lr", "seconds"};

uint64_t fnv1a(const char* data, size_t size) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < size; ++i) h = (h ^ static_cast<unsigned char>(data[i])) * 1099511628211ULL;
  return h;
}

template <typename T>
void put(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // little-endian machines only, as LibTorch's archives
  out.append(bytes, sizeof(T));
}
template <typename T>
T get(const std::vector<uint8_t>& in, size_t at) {
  T value;
  std::memcpy(&value, in.data() + at, sizeof(T));
  return value;
}

at::Generator generator(const c10::Device& device) {
  return device.is_cpu() ? at::detail::getDefaultCPUGenerator() : at::globalContext().defaultGenerator(device);
}
int cuda_devices() { return torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0; }

void write_generators(torch::serialize::OutputArchive& out) {
  auto cpu = generator(torch::kCPU);
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    out.write("cpu_generator", cpu.get_state());
  }
  for (int i = 0; i < cuda_devices(); ++i) {
    auto g = generator(c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(i)));
    std::lock_guard<std::mutex> lock(g.mutex());
    out.write(fmt::format("cuda_generator_{}", i), g.get_state());
  }
}

void read_generators(torch::serialize::InputArchive& in, const char* cpu_key) {
  torch::Tensor cpu_state;
  in.read(cpu_key, cpu_state);
  auto cpu = generator(torch::kCPU);
  {
    std::lock_guard<std::mutex> lock(cpu.mutex());
    cpu.set_state(cpu_state);
  }
  for (int i = 0; i < cuda_devices(); ++i) {
    torch::Tensor state;
    if (!in.try_read(fmt::format("cuda_generator_{}", i), state)) continue;  // written without CUDA
    auto g = generator(c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(i)));
    std::lock_guard<std::mutex> lock(g.mutex());
    g.set_state(state);
  }
}

std::string serialize(const Checkpoint& c, Pretrainable& model, torch::optim::Optimizer& optimizer) {
  torch::serialize::OutputArchive out, model_out, opt_out;
  model.module().save(model_out);
  model.save_state(out);
  optimizer.save(opt_out);
  out.write("model", model_out);
  out.write("optimizer", opt_out);
  out.write("position", torch::tensor({c.epoch, c.step, c.best_epoch, c.bad_epochs}, torch::kInt64));
  out.write("best_valid", torch::tensor(c.best_valid, torch::kFloat64));
  if (c.step > 0) out.write("running_sums", c.running_sums.cpu());
  std::string columns;
  for (const auto& name : c.columns) columns += (columns.empty() ? "" : "\n") + name;
  out.write("columns", text_tensor(columns));
  out.write("history", c.history.defined() ? c.history : torch::empty({0, 0}, torch::kFloat64));
  if (!c.training_step.empty()) out.write("training_step", text_tensor(c.training_step));
  for (size_t i = 0; i < c.best_params.size(); ++i) out.write("best_" + std::to_string(i), c.best_params[i].cpu());
  return seal_archive(out);
}

// Reads the archive of a checkpoint file, its checksum verified, and sets `version` from the
// header; returns why it cannot, or "" when it did.
std::string read_archive(const std::string& path, torch::serialize::InputArchive& archive, uint32_t& version) {
  try {
    const auto bytes = data::read_file_bytes(path);
    if (bytes.size() >= 4 && bytes[0] == 'P' && bytes[1] == 'K') {  // carve 0.1: a bare zip archive
      version = 1;
      archive.load_from(reinterpret_cast<const char*>(bytes.data()), bytes.size());
      return "";
    }
    if (bytes.size() < kHeader || std::memcmp(bytes.data(), kMagic, sizeof(kMagic)) != 0) return "not a carve checkpoint";
    version = get<uint32_t>(bytes, 8);
    if (version > Checkpoint::kVersion) return fmt::format("written by a newer carve (format {})", version);
    const auto size = get<uint64_t>(bytes, 12);
    if (bytes.size() - kHeader != size) return fmt::format("truncated ({} of {} bytes)", bytes.size() - kHeader, size);
    const auto* payload = reinterpret_cast<const char*>(bytes.data() + kHeader);
    if (fnv1a(payload, size) != get<uint64_t>(bytes, 20)) return "damaged (checksum mismatch)";
    archive.load_from(payload, size);
    return "";
  } catch (const c10::Error& e) {
    return e.what_without_backtrace();
  } catch (const DataError& e) {  // unreadable: its message names the file
    return e.what();
  }
}

// The archive of a checkpoint file, its checksum verified; `version` is set from the header.
void open_archive(const std::string& path, torch::serialize::InputArchive& archive, uint32_t& version) {
  const auto why = read_archive(path, archive, version);
  if (!why.empty()) throw UsageError(fmt::format("{}: cannot resume from this checkpoint: {}", path, why));
}

std::vector<std::string> split_lines(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size() && !text.empty()) {
    const auto end = text.find('\n', start);
    out.push_back(text.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  return out;
}

// A tensor of the archive. Always into a fresh tensor: InputArchive::read set_()s a defined one
// in place, which would alias every tensor read through the same variable.
torch::Tensor read_tensor(torch::serialize::InputArchive& in, const std::string& key) {
  torch::Tensor t;
  in.read(key, t);
  return t;
}

// Everything but the model, the optimizer and the generators.
Checkpoint read_rest(torch::serialize::InputArchive& in, uint32_t version, size_t params) {
  Checkpoint c;
  c.version = version;
  if (version == 1) {
    const auto scalars = read_tensor(in, "scalars");
    c.epoch = scalars[0].item<int64_t>();
    c.best_epoch = scalars[1].item<int64_t>();
    c.bad_epochs = scalars[2].item<int64_t>();
    c.history = read_tensor(in, "history");
    c.columns = kV1Columns;
    if (c.history.size(1) + 1 == static_cast<int64_t>(kV1Columns.size())) {
      c.columns.erase(c.columns.begin() + 10);  // before pseudo_log_likelihood
    }
  } else {
    const auto position = read_tensor(in, "position");
    c.epoch = position[0].item<int64_t>();
    c.step = position[1].item<int64_t>();
    c.best_epoch = position[2].item<int64_t>();
    c.bad_epochs = position[3].item<int64_t>();
    if (c.step > 0) c.running_sums = read_tensor(in, "running_sums");
    c.columns = split_lines(tensor_text(read_tensor(in, "columns")));
    c.history = read_tensor(in, "history");
  }
  c.best_valid = read_tensor(in, "best_valid").item<double>();
  if (torch::Tensor step; in.try_read("training_step", step)) c.training_step = tensor_text(step);
  for (size_t i = 0; i < params; ++i) {
    torch::Tensor best;
    if (in.try_read("best_" + std::to_string(i), best)) c.best_params.push_back(best);
  }
  return c;
}

}  // namespace

torch::Tensor text_tensor(const std::string& text) {
  return torch::from_blob(const_cast<char*>(text.data()), {static_cast<int64_t>(text.size())}, torch::kUInt8).clone();
}

std::string tensor_text(const torch::Tensor& t) {
  const auto c = t.contiguous();
  return std::string(reinterpret_cast<const char*>(c.data_ptr<uint8_t>()), static_cast<size_t>(c.numel()));
}

uint64_t fingerprint(const std::vector<torch::Tensor>& tensors) {
  std::string bytes;
  for (const auto& t : tensors) {
    const auto c = t.detach().cpu().contiguous();
    bytes.append(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()) * c.element_size());
  }
  return fnv1a(bytes.data(), bytes.size());
}

std::string seal_archive(torch::serialize::OutputArchive& archive) {
  write_generators(archive);
  std::string payload;
  archive.save_to([&payload](const void* data, size_t size) {
    payload.append(static_cast<const char*>(data), size);
    return size;
  });
  std::string file(kMagic, sizeof(kMagic));
  put<uint32_t>(file, Checkpoint::kVersion);
  put<uint64_t>(file, payload.size());
  put<uint64_t>(file, fnv1a(payload.data(), payload.size()));
  return file + payload;
}

void restore_generators(torch::serialize::InputArchive& archive) { read_generators(archive, "cpu_generator"); }

namespace {

std::unique_ptr<torch::optim::OptimizerParamState> new_state(torch::optim::Optimizer& optimizer) {
  if (dynamic_cast<torch::optim::SGD*>(&optimizer) != nullptr) return std::make_unique<torch::optim::SGDParamState>();
  if (dynamic_cast<torch::optim::Adam*>(&optimizer) != nullptr) return std::make_unique<torch::optim::AdamParamState>();
  TORCH_CHECK(false, "restore_optimizer: an optimizer carve does not make");
}

// The optimizer's state map is keyed by the parameter's address as text on LibTorch 1.x and
// by the address itself on 2.x.
template <class Map>
void put_state(Map& state, const torch::Tensor& param, std::unique_ptr<torch::optim::OptimizerParamState> value) {
  using Key = typename std::decay_t<Map>::key_type;
  if constexpr (std::is_same_v<Key, std::string>) {
    std::ostringstream key;  // as c10::guts::to_string writes it
    key << param.unsafeGetTensorImpl();
    state[key.str()] = std::move(value);
  } else {
    state[param.unsafeGetTensorImpl()] = std::move(value);
  }
}

}  // namespace

void restore_optimizer(torch::serialize::InputArchive& archive, torch::optim::Optimizer& optimizer) {
  optimizer.load(archive);  // the options; the states too, on the version that wrote them
  torch::serialize::InputArchive states;
  if (!archive.try_read("state", states)) return;
  const auto keys = states.keys();
  torch::serialize::InputArchive groups;
  archive.read("param_groups", groups);
  optimizer.state().clear();
  for (size_t g = 0; g < optimizer.param_groups().size(); ++g) {
    torch::serialize::InputArchive group;
    groups.read("param_groups/" + std::to_string(g), group);
    const auto& params = optimizer.param_groups()[g].params();
    for (size_t i = 0; i < params.size(); ++i) {
      c10::IValue key;
      group.read("params/" + std::to_string(i), key);
      const std::string text = key.isString() ? key.toStringRef() : std::to_string(key.toInt());
      if (std::find(keys.begin(), keys.end(), text) == keys.end()) continue;  // no state yet
      torch::serialize::InputArchive one;
      states.read(text, one);
      auto state = new_state(optimizer);
      state->serialize(one);
      put_state(optimizer.state(), params[i], std::move(state));
    }
  }
}

void save_checkpoint(const RunDirectory& dir, const Checkpoint& checkpoint, Pretrainable& model,
                     torch::optim::Optimizer& optimizer) {
  profile::Scope writing(profile::Phase::writes);  // the archive's serialization too
  dir.write("checkpoint.pt", serialize(checkpoint, model, optimizer), RunDirectory::previous_of("checkpoint.pt"));
}

Checkpoint load_checkpoint(OpenedCheckpoint& opened, Pretrainable& model, torch::optim::Optimizer& optimizer) {
  auto& in = opened.archive;
  torch::serialize::InputArchive model_in, opt_in;
  in.read("model", model_in);
  model.module().load(model_in);
  model.load_state(in);
  in.read("optimizer", opt_in);
  restore_optimizer(opt_in, optimizer);
  read_generators(in, opened.version == 1 ? "rng" : "cpu_generator");
  return read_rest(in, opened.version, model.module().parameters().size());
}

std::pair<std::unique_ptr<Pretrainable>, Checkpoint> load_checkpoint_model(
    const std::string& path, const std::function<std::unique_ptr<Pretrainable>(int64_t inputs)>& make) {
  torch::serialize::InputArchive in, model_in;
  uint32_t version = 0;
  open_archive(path, in, version);
  in.read("model", model_in);
  auto model = make(read_tensor(model_in, "weight").size(1));
  model->module().load(model_in);
  model->load_state(in);
  auto rest = read_rest(in, version, model->module().parameters().size());
  return {std::move(model), std::move(rest)};
}

uint32_t load_checkpoint_archive(const std::string& path, torch::serialize::InputArchive& archive) {
  uint32_t version = 0;
  open_archive(path, archive, version);
  return version;
}

OpenedCheckpoint open_checkpoint_to_resume(const RunDirectory& dir, const std::string& name,
                                           const std::function<void(const std::string&)>& notice) {
  OpenedCheckpoint latest{dir.file(name)};
  const auto why = dir.has(name) ? read_archive(latest.path, latest.archive, latest.version) : "missing";
  if (why.empty()) return latest;
  if (!dir.has(RunDirectory::previous_of(name))) {
    throw UsageError(
        fmt::format("{}: cannot resume from this checkpoint: {} (and no earlier one was kept)", latest.path, why));
  }
  OpenedCheckpoint previous{dir.file(RunDirectory::previous_of(name))};
  const auto why_previous = read_archive(previous.path, previous.archive, previous.version);
  if (!why_previous.empty()) {
    throw UsageError(fmt::format("{}: cannot resume from this checkpoint: {}; nor from the one before it, {}: {}",
                                 latest.path, why, previous.path, why_previous));
  }
  notice(fmt::format("{}: {}: resuming from the checkpoint before it, {}", latest.path, why, previous.path));
  return previous;
}

}  // namespace carve
