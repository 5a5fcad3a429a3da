// TorchScript export of a trained encoder: a module whose forward(x) returns the hidden code,
// with attributes that describe it, loadable by torch::jit::load (C++) and torch.jit.load
// (Python). It is compiled from TorchScript source, not traced, so it carries no Python.
//
//   carve::save_encoder(*ae, "autoencoder", "runs/cae/encoder.pt");
//   // Python: m = torch.jit.load("runs/cae/encoder.pt"); h = m(x); m.activation, m.hidden
//
// Attributes: model_type (str), activation (str), inputs (int), hidden (int), carve_version (str).
#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

#include "models/autoencoder.h"

namespace carve {

// Any chain of Linear + elementwise layers (an auto-encoder's, an RBM's p(h | v), a stack).
// A chain's attributes: activation is the top layer's, hidden the code size; layers the count.
torch::jit::Module export_encoder(const std::vector<AffineLayer>& layers, const std::string& model_type);
void save_encoder(const std::vector<AffineLayer>& layers, const std::string& model_type, const std::string& path);
torch::jit::Module export_encoder(const AffineLayer& layer, const std::string& model_type);
torch::jit::Module export_encoder(const AutoEncoderImpl& ae, const std::string& model_type);
// Written atomically (temporary file + rename).
void save_encoder(const AffineLayer& layer, const std::string& model_type, const std::string& path);
void save_encoder(const AutoEncoderImpl& ae, const std::string& model_type, const std::string& path);

}  // namespace carve
