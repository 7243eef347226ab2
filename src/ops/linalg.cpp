/// Products and distances composed of differentiable ops (matmul, reductions, shape ops): their
/// gradients and second derivatives are those of the parts, so none needs its own backward.
#include "xgrad/ops/linalg.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "ops/helpers.h"
#include "xgrad/ops/matmul.h"

namespace xg {

using namespace ops;

namespace {

/// beta · input + alpha · product, PyTorch's addmm/baddbmm epilogue: beta 0 drops input entirely.
Tensor add_scaled(const Tensor& input, const Tensor& product, Scalar beta, Scalar alpha, const char* op) {
  check_defined(input, op, "input");
  if (broadcast_shapes(input.shape(), product.shape(), op) != product.shape())
    fail<ShapeError>("{}: input of shape {} does not broadcast to the product's shape {}", op, shape_str(input.shape()),
                     shape_str(product.shape()));
  const Tensor scaled = alpha.to_double() == 1.0 ? product : mul(product, alpha);
  if (beta.to_double() == 0.0) return scaled;
  return add(beta.to_double() == 1.0 ? input : mul(input, beta), scaled);
}

}  // namespace

Tensor addmm(const Tensor& input, const Tensor& m1, const Tensor& m2, Scalar beta, Scalar alpha) {
  check_defined(m1, "addmm", "mat1");
  check_defined(m2, "addmm", "mat2");
  if (m1.dim() != 2 || m2.dim() != 2)
    fail<ShapeError>("addmm: mat1 and mat2 must be 2-D, got shapes {} and {}", shape_str(m1.shape()),
                     shape_str(m2.shape()));
  return add_scaled(input, mm(m1, m2), beta, alpha, "addmm");
}

Tensor baddbmm(const Tensor& input, const Tensor& b1, const Tensor& b2, Scalar beta, Scalar alpha) {
  check_defined(b1, "baddbmm", "batch1");
  check_defined(b2, "baddbmm", "batch2");
  if (b1.dim() != 3 || b2.dim() != 3)
    fail<ShapeError>("baddbmm: batch1 and batch2 must be 3-D, got shapes {} and {}", shape_str(b1.shape()),
                     shape_str(b2.shape()));
  return add_scaled(input, bmm(b1, b2), beta, alpha, "baddbmm");
}

Tensor outer(const Tensor& a, const Tensor& b) {
  check_defined(a, "outer", "input");
  check_defined(b, "outer", "vec2");
  if (a.dim() != 1 || b.dim() != 1)
    fail<ShapeError>("outer: expected two 1-D tensors, got shapes {} and {}", shape_str(a.shape()),
                     shape_str(b.shape()));
  return mul(unsqueeze(a, 1), unsqueeze(b, 0));
}

// ---------------------------------------------------------------- einsum

namespace {

/// Subscript ids: 'A'-'Z' are 0-25, 'a'-'z' 26-51 (so the implicit output sorts as PyTorch's), and
/// the broadcast dims of "..." 52 onwards, right-aligned across operands.
constexpr int kEllipsisBase = 52;

int letter_id(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return 26 + (c - 'a');
  return -1;
}

char id_char(int id) { return id < 26 ? static_cast<char>('A' + id) : static_cast<char>('a' + id - 26); }

/// One term of the equation: its letters, and where "..." stands (-1: none).
struct Term {
  std::vector<int> letters;
  int ellipsis_at = -1;
};

Term parse_term(const std::string& t, const std::string& eq) {
  Term term;
  for (size_t i = 0; i < t.size(); ++i) {
    if (t[i] == '.') {
      if (term.ellipsis_at >= 0 || t.compare(i, 3, "...") != 0)
        fail<ValueError>("einsum: equation '{}': '.' must appear as one '...' per term", eq);
      term.ellipsis_at = static_cast<int>(term.letters.size());
      i += 2;
      continue;
    }
    const int id = letter_id(t[i]);
    if (id < 0) fail<ValueError>("einsum: equation '{}': invalid subscript '{}' (letters a-z, A-Z only)", eq, t[i]);
    term.letters.push_back(id);
  }
  return term;
}

/// A tensor and the subscript id of each of its dims.
struct Labeled {
  Tensor t;
  std::vector<int> ids;
};

bool contains(const std::vector<int>& v, int id) { return std::find(v.begin(), v.end(), id) != v.end(); }

/// Positions of ids in l.
Shape positions(const Labeled& l, const std::vector<int>& ids) {
  Shape p;
  for (int id : ids) p.push_back(std::find(l.ids.begin(), l.ids.end(), id) - l.ids.begin());
  return p;
}

/// Sums away the dims whose ids keep() rejects.
template <class Keep>
Labeled sum_out(Labeled l, Keep keep) {
  Shape dims;
  std::vector<int> ids;
  for (size_t i = 0; i < l.ids.size(); ++i)
    if (keep(l.ids[i]))
      ids.push_back(l.ids[i]);
    else
      dims.push_back(static_cast<int64_t>(i));
  if (dims.empty()) return l;
  return {sum(l.t, dims, false), ids};
}

/// Merges every repeated id of one operand into one dim holding the diagonal ("ii" → "i").
Labeled take_diagonals(Labeled l, const std::string& eq) {
  for (size_t a = 0; a < l.ids.size(); ++a)
    for (size_t b = a + 1; b < l.ids.size(); ++b) {
      if (l.ids[a] != l.ids[b]) continue;
      const int64_t n = l.t.size(static_cast<int64_t>(a));
      if (l.t.size(static_cast<int64_t>(b)) != n)
        fail<ShapeError>("einsum: equation '{}': subscript '{}' is repeated in an operand with sizes {} and {}", eq,
                         id_char(l.ids[a]), n, l.t.size(static_cast<int64_t>(b)));
      Shape order;
      std::vector<int> ids;
      for (size_t i = 0; i < l.ids.size(); ++i)
        if (i != a && i != b) {
          order.push_back(static_cast<int64_t>(i));
          ids.push_back(l.ids[i]);
        }
      order.push_back(static_cast<int64_t>(a));
      order.push_back(static_cast<int64_t>(b));
      Tensor t = permute(l.t, order);
      Shape s(t.shape().begin(), t.shape().end() - 2);
      s.push_back(n * n);
      t = reshape(t, s);
      t = slice(t, -1, 0, n * n, n + 1);  // the diagonal of the last two dims
      ids.push_back(l.ids[a]);
      return take_diagonals({t, ids}, eq);
    }
  return l;
}

/// A and B contracted into one operand whose ids are: shared ids still needed (batch), A's own, B's
/// own. Shared ids not needed later are summed by bmm.
Labeled contract(const Labeled& A, const Labeled& B, const std::vector<int>& keep) {
  std::vector<int> batch, aonly, contr, bonly;
  for (int id : A.ids) {
    if (contains(B.ids, id))
      (contains(keep, id) ? batch : contr).push_back(id);
    else
      aonly.push_back(id);
  }
  for (int id : B.ids)
    if (!contains(A.ids, id)) bonly.push_back(id);
  auto size_of = [&](const Labeled& l, int id) { return l.t.size(positions(l, {id})[0]); };
  auto both = [&](int id) { return std::max(size_of(A, id), size_of(B, id)); };
  auto arrange = [&](const Labeled& l, const std::vector<int>& g0, const std::vector<int>& g1,
                     const std::vector<int>& g2) {
    std::vector<int> ids(g0);
    ids.insert(ids.end(), g1.begin(), g1.end());
    ids.insert(ids.end(), g2.begin(), g2.end());
    Shape sizes;
    for (int id : ids) sizes.push_back(contains(bonly, id) || contains(aonly, id) ? size_of(l, id) : both(id));
    Tensor t = expand(permute(l.t, positions(l, ids)), sizes);
    auto prod = [&](const std::vector<int>& g, size_t from) {
      int64_t p = 1;
      for (size_t i = 0; i < g.size(); ++i) p *= sizes[from + i];
      return p;
    };
    return std::make_pair(reshape(t, {prod(g0, 0), prod(g1, g0.size()), prod(g2, g0.size() + g1.size())}), sizes);
  };
  const auto [a, asizes] = arrange(A, batch, aonly, contr);
  const auto [b, bsizes] = arrange(B, batch, contr, bonly);
  Shape out_shape(asizes.begin(), asizes.begin() + static_cast<int64_t>(batch.size() + aonly.size()));
  out_shape.insert(out_shape.end(), bsizes.end() - static_cast<int64_t>(bonly.size()), bsizes.end());
  std::vector<int> ids(batch);
  ids.insert(ids.end(), aonly.begin(), aonly.end());
  ids.insert(ids.end(), bonly.begin(), bonly.end());
  return {reshape(bmm(a, b), out_shape), ids};
}

}  // namespace

Tensor einsum(const std::string& equation, const std::vector<Tensor>& operands) {
  std::string eq;
  for (char c : equation)
    if (c != ' ') eq += c;
  const size_t arrow = eq.find("->");
  const std::string lhs = eq.substr(0, arrow);
  std::vector<Term> terms;
  for (size_t start = 0;;) {
    const size_t comma = lhs.find(',', start);
    terms.push_back(parse_term(lhs.substr(start, comma == std::string::npos ? std::string::npos : comma - start), eq));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (terms.size() != operands.size())
    fail<ValueError>("einsum: equation '{}' has {} operand terms but {} tensors were given", equation, terms.size(),
                     operands.size());
  // Each operand's dims labelled; "..." covers the dims the letters leave, right-aligned over all operands.
  int64_t ell = 0;
  for (size_t i = 0; i < terms.size(); ++i) {
    check_defined(operands[i], "einsum", "operands");
    const auto nl = static_cast<int64_t>(terms[i].letters.size());
    const int64_t nd = operands[i].dim();
    if (terms[i].ellipsis_at < 0 ? nd != nl : nd < nl)
      fail<ShapeError>("einsum: equation '{}': operand {} has {} dims but its subscripts name {}", equation, i, nd, nl);
    if (terms[i].ellipsis_at >= 0) ell = std::max(ell, nd - nl);
  }
  std::vector<Labeled> labeled;
  std::array<int64_t, kEllipsisBase + 64> size{};
  size.fill(-1);
  std::array<int, kEllipsisBase + 64> count{};
  if (ell > 64) fail<ValueError>("einsum: equation '{}': '...' covers more than 64 dims", equation);
  for (size_t i = 0; i < terms.size(); ++i) {
    const Term& t = terms[i];
    Labeled l{operands[i], {}};
    const int64_t e = operands[i].dim() - static_cast<int64_t>(t.letters.size());
    for (size_t k = 0; k <= t.letters.size(); ++k) {
      if (static_cast<int>(k) == t.ellipsis_at)
        for (int64_t j = 0; j < e; ++j) l.ids.push_back(kEllipsisBase + static_cast<int>(ell - e + j));
      if (k < t.letters.size()) l.ids.push_back(t.letters[k]);
    }
    for (size_t d = 0; d < l.ids.size(); ++d) {
      const int id = l.ids[d];
      const int64_t s = l.t.size(static_cast<int64_t>(d));
      int64_t& known = size[static_cast<size_t>(id)];
      if (known >= 0 && known != s && known != 1 && s != 1) {
        if (id >= kEllipsisBase)
          fail<ShapeError>("einsum: equation '{}': the dims of '...' do not broadcast (size {} against {})", equation,
                           s, known);
        fail<ShapeError>("einsum: equation '{}': subscript '{}' has size {} in operand {} but {} elsewhere", equation,
                         id_char(id), s, i, known);
      }
      known = known < 0 || known == 1 ? s : known;
      ++count[static_cast<size_t>(id)];
    }
    labeled.push_back(take_diagonals(std::move(l), equation));
  }
  // The output's ids: as written, or "..." then the letters used once, in order.
  std::vector<int> out;
  if (arrow != std::string::npos) {
    const Term t = parse_term(eq.substr(arrow + 2), eq);
    if (t.ellipsis_at >= 0 && ell == 0 &&
        std::none_of(terms.begin(), terms.end(), [](const Term& x) { return x.ellipsis_at >= 0; }))
      fail<ValueError>("einsum: equation '{}': '...' in the output but in no operand", equation);
    for (size_t k = 0; k <= t.letters.size(); ++k) {
      if (static_cast<int>(k) == t.ellipsis_at)
        for (int64_t j = 0; j < ell; ++j) out.push_back(kEllipsisBase + static_cast<int>(j));
      if (k < t.letters.size()) {
        const int id = t.letters[k];
        if (contains(out, id))
          fail<ValueError>("einsum: equation '{}': output subscript '{}' appears more than once", equation,
                           id_char(id));
        if (count[static_cast<size_t>(id)] == 0)
          fail<ValueError>("einsum: equation '{}': output subscript '{}' appears in no operand", equation, id_char(id));
        out.push_back(id);
      }
    }
  } else {
    for (int64_t j = 0; j < ell; ++j) out.push_back(kEllipsisBase + static_cast<int>(j));
    for (int id = 0; id < kEllipsisBase; ++id)
      if (count[static_cast<size_t>(id)] == 1) out.push_back(id);
  }
  // Ids each operand shares with nothing later are summed first; then operands contract left to right.
  auto needed_after = [&](size_t i) {
    std::vector<int> keep(out);
    for (size_t j = i + 1; j < labeled.size(); ++j)
      keep.insert(keep.end(), labeled[j].ids.begin(), labeled[j].ids.end());
    return keep;
  };
  Labeled acc = sum_out(labeled[0], [&, keep = needed_after(0)](int id) {
    return contains(keep, id) || (labeled.size() > 1 && contains(labeled[1].ids, id));
  });
  for (size_t i = 1; i < labeled.size(); ++i) {
    const std::vector<int> keep = needed_after(i);
    Labeled b = sum_out(labeled[i], [&](int id) { return contains(keep, id) || contains(acc.ids, id); });
    acc = contract(acc, b, keep);
  }
  acc = sum_out(acc, [&](int id) { return contains(out, id); });
  // An output id of size 1 in the result that another operand had larger cannot occur: every operand
  // is contracted in. Expand covers a broadcast size-1 label kept from a single operand.
  Shape sizes;
  for (int id : out) sizes.push_back(size[static_cast<size_t>(id)]);
  Tensor r = permute(acc.t, positions(acc, out));
  return r.shape() == sizes ? r : expand(r, sizes);
}

// ---------------------------------------------------------------- distances

Tensor cosine_similarity(const Tensor& a, const Tensor& b, int64_t dim, double eps) {
  check_defined(a, "cosine_similarity", "x1");
  check_defined(b, "cosine_similarity", "x2");
  const Shape s = broadcast_shapes(a.shape(), b.shape(), "cosine_similarity");
  const int64_t d = wrap_dim(dim, static_cast<int64_t>(s.size()), "cosine_similarity");
  const Tensor x1 = as_floating(expand(a, s)), x2 = as_floating(expand(b, s));
  // PyTorch 1.13: sqrt(Σx²) with Σx² clamped to eps² in place under no_grad: the clamp changes the
  // value only, and sqrt's gradient then divides by the clamped norm.
  auto clamped_norm = [&](const Tensor& x) {
    const Tensor sq = sum(mul(x, x), {d}, true);
    const Tensor sd = sq.detach();
    return sqrt(add(sq, sub(clamp_min(sd, eps * eps), sd)));
  };
  return sum(mul(div(x1, clamped_norm(x1)), div(x2, clamped_norm(x2))), {d}, false);
}

Tensor pairwise_distance(const Tensor& a, const Tensor& b, double p, double eps, bool keepdim) {
  check_defined(a, "pairwise_distance", "x1");
  check_defined(b, "pairwise_distance", "x2");
  const int64_t last = std::max<int64_t>(std::max(a.dim(), b.dim()) - 1, 0);
  return vector_norm(add(sub(as_floating(a), as_floating(b)), eps), p, {last}, keepdim);
}

Tensor cdist(const Tensor& a, const Tensor& b, double p) {
  check_defined(a, "cdist", "x1");
  check_defined(b, "cdist", "x2");
  if (a.dim() < 2 || b.dim() < 2)
    fail<ShapeError>("cdist: x1 and x2 must have at least 2 dims, got shapes {} and {}", shape_str(a.shape()),
                     shape_str(b.shape()));
  if (a.size(-1) != b.size(-1))
    fail<ShapeError>("cdist: x1 and x2 must have the same number of columns, got shapes {} and {}",
                     shape_str(a.shape()), shape_str(b.shape()));
  if (!(p >= 0)) fail<ValueError>("cdist: p must be non-negative, got {}", p);
  if (!is_floating(a.dtype()) || !is_floating(b.dtype()))
    fail<DTypeError>("cdist: expected floating tensors, got {} and {}", dtype_name(a.dtype()), dtype_name(b.dtype()));
  const Tensor diff = sub(unsqueeze(a, -2), unsqueeze(b, -3));
  if (!std::isinf(p)) return vector_norm(diff, p, {-1}, false);
  if (diff.size(-1) == 0) return sum(diff, {-1}, false);  // no columns: distance 0
  // PyTorch's cdist backward gives every tied largest |a - b| the full gradient (vector_norm shares
  // it): the value of the max, the gradient of the tied |a - b| summed.
  const Tensor ad = abs(diff), dist = amax(ad.detach(), {-1}, true);
  const Tensor tied = eq(ad.detach(), dist).to(ad.dtype());
  return squeeze(add(dist, sum(mul(tied, sub(ad, ad.detach())), {-1}, true)), -1);
}

}  // namespace xg
