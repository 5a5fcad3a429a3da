/// TorchScript export of a trained encoder: a module whose forward(x) returns the hidden code,
/// with attributes that describe it, loadable by torch::jit::load (C++) and torch.jit.load
/// (Python). It is compiled from TorchScript source, not traced, so it carries no Python.
///
///   carve::save_encoder(*ae, "autoencoder", "runs/cae/encoder.pt");
///   // Python: m = torch.jit.load("runs/cae/encoder.pt"); h = m(x); m.activation, m.hidden
///   //         r = m.decode(h); r = m.reconstruct(x)      (when m.has_decoder)
///
/// Attributes: model_type (str), activation (str), inputs (int), hidden (int), layers (int),
/// has_decoder (bool), carve_version (str). With a decoder, decode(h) maps a code back to the
/// input space (the auto-encoder's reconstruction, an RBM's mean visible units E[v | h], a
/// stack's decoders from the top layer down) and reconstruct(x) is decode(forward(x)).
/// A fine-tuned classifier (save_classifier) is the same kind of chain whose last layer is the
/// linear output layer: forward(x) gives the logits, predict(x) the classes; attribute classes.
#pragma once

#include <torch/script.h>

#include <string>
#include <vector>

#include "carve/models/autoencoder.h"

namespace carve {

/// Any chain of Linear + elementwise layers (an auto-encoder's, an RBM's p(h | v), a stack), with
/// its decoder (layers in the order they apply; empty: none). A chain's attributes: activation is
/// the top layer's, hidden the code size; layers the count.
torch::jit::Module export_encoder(const std::vector<AffineLayer>& layers, const std::string& model_type,
                                  const std::vector<AffineLayer>& decoder = {});
/// Written atomically and durably (carve/atomic_file.h).
void save_encoder(const std::vector<AffineLayer>& layers, const std::string& model_type, const std::string& path,
                  const std::vector<AffineLayer>& decoder = {});
/// An auto-encoder's encoder with its decoder.
torch::jit::Module export_encoder(const AutoEncoderImpl& ae, const std::string& model_type);
void save_encoder(const AutoEncoderImpl& ae, const std::string& model_type, const std::string& path);
/// The decoder layer of an auto-encoder (W' = W^T when tied, the visible bias, the decoder activation).
AffineLayer decoder_layer(const AutoEncoderImpl& ae);

/// A classifier: `hidden` layers, then logits = out_w h + out_b.
torch::jit::Module export_classifier(const std::vector<AffineLayer>& hidden, const torch::Tensor& out_w,
                                     const torch::Tensor& out_b);
void save_classifier(const std::vector<AffineLayer>& hidden, const torch::Tensor& out_w, const torch::Tensor& out_b,
                     const std::string& path);

}  // namespace carve
