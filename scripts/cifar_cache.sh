# Sourced by the benchmark scripts. cifar_cache_dir prints a --data-dir value under which the CIFAR-10
# example finds the official binary batches, or nothing when the examples' own lookup ($XGRAD_DATA,
# ../shared/data) already finds them. Where only ../shared's JPEG copy is at hand, its converter writes
# the batches once into a cache folder outside the tree (${XGRAD_CACHE_DIR:-~/.cache/xgrad}).
cifar_cache_dir() {
  if [[ -n ${XGRAD_DATA:-} || -d ../shared/data/cifar-10-batches-bin || -d ../shared/data/cifar-10/cifar-10-batches-bin ]]; then
    return 0
  fi
  local cache="${XGRAD_CACHE_DIR:-$HOME/.cache/xgrad}"
  if [[ ! -f $cache/cifar-10-batches-bin/data_batch_1.bin && -f ../shared/data/cifar-10/cifar-10-jpg.tar.gz ]]; then
    mkdir -p "$cache"
    /usr/bin/python3 ../shared/tools/cifar10_jpg_to_bin.py ../shared/data/cifar-10/cifar-10-jpg.tar.gz \
      "$cache/cifar-10-batches-bin" >/dev/null || true
  fi
  if [[ -f $cache/cifar-10-batches-bin/data_batch_1.bin ]]; then echo "$cache"; fi
}
