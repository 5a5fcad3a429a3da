/// The checkpoint of a run: one versioned format, written and read by this one unit.
///
///   carve::Checkpoint ck;            // what the trainer knows besides the model and optimizer
///   ck.epoch = 3;
///   carve::save_checkpoint(dir, ck, model, *optimizer);            // RUN_DIR/checkpoint.pt
///   auto opened = carve::open_checkpoint_to_resume(dir, "checkpoint.pt", notice);
///   carve::Checkpoint back = carve::load_checkpoint(opened, model, *optimizer);
///
/// Format (version 2): the bytes "CARVECKP", the format version (uint32, little-endian), the
/// payload's size (uint64) and its FNV-1a 64-bit checksum (uint64), then the payload: a LibTorch
/// archive holding the model (parameters, buffers and extra state such as PCD chains), the
/// optimizer, the CPU generator and every CUDA generator (read through
/// at::globalContext().defaultGenerator, so CPU-only builds need no CUDA headers), the position in
/// training (completed epochs, and the batch reached in the next epoch with its running sums, so
/// that a run can stop mid-epoch and resume bit-identically), early-stopping state, the history
/// of metrics.csv with its column names, the best weights, and the training step it runs
/// (fused or autograd: a resumed run keeps it). The checksum is verified before
/// anything is loaded. Each new checkpoint keeps the one it replaces as checkpoint.previous.pt,
/// and --resume falls back on it when the latest is damaged (open_checkpoint_to_resume).
/// Fine-tuning keeps its own state in RUN_DIR/finetune.pt, in the same container (seal_archive /
/// open_checkpoint_to_resume), so that the pretraining checkpoint stays as pretraining left it.
/// Version 1 files (carve 0.1: a bare archive) still load; a damaged or newer file is refused
/// with one line naming it.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "carve/train/pretrainable.h"
#include "carve/train/run_directory.h"

namespace carve {

/// Everything a checkpoint carries besides the model and the optimizer.
struct Checkpoint {
  static constexpr uint32_t kVersion = 2;
  uint32_t version = kVersion;  ///< of the file it was read from
  int64_t epoch = 0;            ///< epochs completed
  int64_t step = 0;             ///< batches already done in epoch `epoch` (0: at an epoch boundary)
  torch::Tensor running_sums;   ///< the epoch's loss-term sums over those batches (float64), if step > 0
  int64_t best_epoch = -1;
  int64_t bad_epochs = 0;
  double best_valid = std::numeric_limits<double>::infinity();
  std::vector<std::string> columns;      ///< of `history`, as metrics.csv names them
  torch::Tensor history;                 ///< [epochs, columns] float64
  std::vector<torch::Tensor> best_params;  ///< the parameters at the best epoch (empty: none yet)
  std::string training_step;  ///< "fused" or "autograd": the step the run trains with ("" in older files)
};

/// Writes RUN_DIR/checkpoint.pt atomically, with the default generators' current states; the
/// checkpoint it replaces stays as RUN_DIR/checkpoint.previous.pt (RunDirectory::previous_of).
void save_checkpoint(const RunDirectory& dir, const Checkpoint& checkpoint, Pretrainable& model,
                     torch::optim::Optimizer& optimizer);

/// A checkpoint file read and verified once (header, size, checksum): its LibTorch archive
/// ("model", "optimizer", "position", ...) and its format version.
struct OpenedCheckpoint {
  std::string path;
  torch::serialize::InputArchive archive;
  uint32_t version = 0;
};

/// The checkpoint `name` in `dir` to resume from, opened: `name` when it reads back whole, else
/// the one kept before it (RunDirectory::previous_of), after `notice` says why; UsageError, one
/// line naming both files and what is wrong with each, when neither does. A fault on a disk or
/// in a copy damages the latest file; a crash cannot (it is replaced atomically).
OpenedCheckpoint open_checkpoint_to_resume(const RunDirectory& dir, const std::string& name,
                                           const std::function<void(const std::string&)>& notice);

/// Loads an opened checkpoint into `model` and `optimizer`, restores the generators, and
/// returns the rest.
Checkpoint load_checkpoint(OpenedCheckpoint& opened, Pretrainable& model, torch::optim::Optimizer& optimizer);

/// The model of a checkpoint alone (for reading a finished run back): `make` builds the model for
/// the input size stored in the checkpoint, which is then loaded into it; the generators are left
/// alone. The file is read and verified once.
std::pair<std::unique_ptr<Pretrainable>, Checkpoint> load_checkpoint_model(
    const std::string& path, const std::function<std::unique_ptr<Pretrainable>(int64_t inputs)>& make);

/// A LibTorch archive in carve's checkpoint container (header, version, size, checksum), ready
/// to be written with RunDirectory::write. The archive gets the current generators' states.
std::string seal_archive(torch::serialize::OutputArchive& archive);
/// Restores the generators' states that seal_archive wrote.
void restore_generators(torch::serialize::InputArchive& archive);

/// Loads an optimizer from the archive that `Optimizer::save` wrote, on any LibTorch version:
/// LibTorch keys each parameter's state by the parameter's address as text, which 1.13 writes
/// in hex and 2.x reads back as a decimal number, so `Optimizer::load` alone puts the states of
/// a 1.13 file on the wrong parameters under 2.x. The states are matched here by the text of
/// their keys, in parameter order, which reads the same everywhere.
void restore_optimizer(torch::serialize::InputArchive& archive, torch::optim::Optimizer& optimizer);

/// Text in an archive, as a uint8 tensor, and back.
torch::Tensor text_tensor(const std::string& text);
std::string tensor_text(const torch::Tensor& t);
/// A 64-bit FNV-1a hash of the tensors' values (moved to the CPU): tells whether a model changed.
uint64_t fingerprint(const std::vector<torch::Tensor>& tensors);

/// The checkpoint's LibTorch archive, its checksum verified (for tools and tests that read fields
/// by name: "model", "optimizer", "position", "history", "best_<i>", ...). Returns the version.
uint32_t load_checkpoint_archive(const std::string& path, torch::serialize::InputArchive& archive);

}  // namespace carve
