#!/bin/sh
# train_cli_test.sh VKMNIST DATA_DIR: the training command as a user drives it, on a subset of
# MNIST. Checks the run folder's files, bitwise determinism across an interruption and --resume,
# --init, and that a bad checkpoint or missing data gives one clear line, a non-zero exit and no
# half-written run folder.
set -eu
vkmnist=$1
data=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "train_cli_test: $*" >&2; exit 1; }

common="--data $data --train-limit 1000 --test-limit 300 --batch-size 64 --quiet"

# An uninterrupted run, and the same run stopped after one epoch and resumed.
"$vkmnist" --norm gn --groups 2 --l1 1e-5 --l2 1e-4 $common --epochs 2 --out "$work/a"
out=$("$vkmnist" --norm gn --groups 2 --l1 1e-5 --l2 1e-4 $common --epochs 2 --out "$work/b" --stop-after 1 2>&1)
echo "$out" | grep -q "stopped after epoch 1 of 2 (--stop-after); continue with: vkmnist --resume $work/b" ||
  fail "--stop-after gave no hint how to continue: $out"
[ "$(grep -c '^1,' "$work/b/metrics.csv")" -eq 2 ] || fail "the stopped run should hold epoch 1 only"
grep -q '^2,' "$work/b/metrics.csv" && fail "the stopped run went on to epoch 2"
# What an interrupted write leaves behind is removed when the run resumes (names as both writers
# make them); a file that only looks similar stays.
touch "$work/b/model.safetensors.tmp-4242" "$work/b/metrics.csv.tmp4242" "$work/b/notes.tmpfile"
"$vkmnist" --resume "$work/b" --quiet
for f in model.safetensors.tmp-4242 metrics.csv.tmp4242; do
  [ -e "$work/b/$f" ] && fail "stray $f left after --resume"
done
[ -e "$work/b/notes.tmpfile" ] || fail "--resume removed a file that is not a temporary"
rm "$work/b/notes.tmpfile"
cmp "$work/a/model.safetensors" "$work/b/model.safetensors" || fail "resumed run differs from the uninterrupted one"
cmp "$work/a/optimizer.safetensors" "$work/b/optimizer.safetensors" || fail "optimizer state differs after --resume"
cmp "$work/a/best.safetensors" "$work/b/best.safetensors" || fail "best.safetensors differs after --resume"
# Ctrl-C (SIGINT) mid-run: exit 130, one line saying how to continue, and that continues to the
# uninterrupted run's weights.
"$vkmnist" --norm gn --groups 2 --l1 1e-5 --l2 1e-4 $common --epochs 2 --out "$work/i" 2> "$work/i.err" &
pid=$!
while [ ! -e "$work/i/metrics.csv" ] && kill -0 $pid 2>/dev/null; do sleep 0.1; done
kill -INT $pid 2>/dev/null || true
rc=0; wait $pid || rc=$?
if [ $rc -ne 0 ]; then  # (a run that finished before the signal arrived proves nothing here)
  [ $rc -eq 130 ] || fail "interrupted run exited $rc, not 130"
  grep -q "interrupted; every completed epoch is kept. Continue with: vkmnist --resume $work/i" "$work/i.err" ||
    fail "no resume hint after Ctrl-C: $(cat "$work/i.err")"
  "$vkmnist" --resume "$work/i" --quiet > /dev/null
fi
cmp "$work/a/model.safetensors" "$work/i/model.safetensors" || fail "a run interrupted by Ctrl-C and resumed differs"
# best.safetensors: the epoch of the best test accuracy (the first of equals), recorded in it.
best=$(awk -F, '$2 == "test" && $5 > b { b = $5 } END { printf "%.2f", b }' "$work/a/metrics.csv")
grep -aq "\"best_test_accuracy\":\"$best\"" "$work/a/best.safetensors" ||
  fail "best.safetensors does not record the best test accuracy $best"
[ "$(grep -c '^2,' "$work/b/metrics.csv")" -eq 2 ] || fail "the resumed run should add epoch 2"
# A run started with a relative --data resumes from any working directory: run.json holds the
# absolute path.
(cd "$(dirname "$data")" && "$vkmnist" --norm bn --data "$(basename "$data")" --train-limit 300 \
  --test-limit 100 --batch-size 64 --quiet --epochs 2 --stop-after 1 --out "$work/rel" > /dev/null)
grep -q "\"data\": \"/" "$work/rel/run.json" || fail "run.json should hold the data folder's absolute path"
(cd / && "$vkmnist" --resume "$work/rel" --quiet > /dev/null) || fail "a resume from another working directory failed"

# The data moved: --data on --resume is taken when it holds the very files the run was trained
# on (run.json's CRC-32 of the images and labels it read), and run.json then points there; other
# files are refused with one line.
"$vkmnist" --norm bn $common --epochs 2 --stop-after 1 --out "$work/moved" > /dev/null
mkdir "$work/data-copy" "$work/data-other"
cp "$data"/* "$work/data-copy/"
cp "$data"/* "$work/data-other/"
chmod u+w "$work/data-other"/*
# One training label changed (the first: inside --train-limit).
python3 -c "import sys; f=open(sys.argv[1],'r+b'); f.seek(8); b=f.read(1); f.seek(8); f.write(bytes([(b[0]+1)%10])); f.close()" \
  "$work/data-other/train-labels-idx1-ubyte"
out=$("$vkmnist" --resume "$work/moved" --data "$work/data-other" --quiet 2>&1) &&
  fail "--resume accepted --data holding other files"
echo "$out" | grep -q "not the images and labels the run in $work/moved was trained on" ||
  fail "unclear message for other data: $out"
"$vkmnist" --resume "$work/moved" --data "$work/data-copy" --quiet > /dev/null ||
  fail "--resume with --data holding the same files failed"
grep -q "\"data\": \"$work/data-copy\"" "$work/moved/run.json" ||
  fail "run.json should point at the data's new folder"

# A resumed run keeps its options: changing one is refused, not silently ignored.
out=$("$vkmnist" --resume "$work/b" --lr 0.5 2>&1) && fail "--lr with --resume accepted"
echo "$out" | grep -q -- "--lr cannot be given with --resume" || fail "unclear message: $out"

# An edited or foreign run.json is refused with one line naming the field, never converted.
for edit in 's/"epochs": 2,/"epochs": 2.7,/' 's/"groups": 2,/"groups": -4,/' 's/"epochs": 2,/"epochs": 4e94,/' \
            's/"options"/"settings"/'; do
  rm -rf "$work/x" && cp -r "$work/b" "$work/x" && sed -i "$edit" "$work/x/run.json"
  grep -q "$(echo "$edit" | sed 's|^s/\([^/]*\)/.*|\1|')" "$work/x/run.json" && fail "the edit $edit did not apply"
  out=$("$vkmnist" --resume "$work/x" --quiet 2>&1) && fail "resume accepted run.json edited by $edit"
  echo "$out" | grep -Eq 'run.json: ("(epochs|groups)" is .*not a whole number|no "options")' || fail "unclear message for $edit: $out"
  [ "$(echo "$out" | wc -l)" -eq 1 ] || fail "more than one line for $edit: $out"
done
# run.json edited to another run's options: the checkpoint's own options say so.
for edit in 's/"norm": "gn"/"norm": "ln"/' 's/"lr": 0.05,/"lr": 0.2,/' 's/"affine": true/"affine": false/'; do
  rm -rf "$work/x" && cp -r "$work/b" "$work/x" && sed -i "$edit" "$work/x/run.json"
  out=$("$vkmnist" --resume "$work/x" --quiet 2>&1) && fail "resume accepted run.json edited by $edit"
  echo "$out" | grep -q 'run.json and model.safetensors disagree on' || fail "unclear message for $edit: $out"
done
echo '[1, 2]' > "$work/x/run.json"
out=$("$vkmnist" --resume "$work/x" --quiet 2>&1) && fail "resume accepted a run.json that is an array"
echo "$out" | grep -q 'no "options" in run.json' || fail "unclear message for an array run.json: $out"

# The run folder holds what the README promises.
for f in run.json summary.txt metrics.csv model.safetensors optimizer.safetensors best.safetensors predictions.csv; do
  [ -s "$work/a/$f" ] || fail "run folder lacks $f"
done
head -1 "$work/a/metrics.csv" | grep -qx 'epoch,split,loss,penalty,accuracy,lr,seconds' || fail "metrics.csv header"
grep -q 'Total params: 8,008' "$work/a/summary.txt" || fail "summary.txt parameter count"
[ "$(wc -l < "$work/a/predictions.csv")" -eq 301 ] || fail "predictions.csv should hold 300 test images"
grep -q '"norm": "gn"' "$work/a/run.json" || fail "run.json options"
grep -q '"lr": 0.05,' "$work/a/run.json" || fail "run.json should record gn's default peak learning rate, 0.1 at batch 128, as 0.05 at batch 64"
# ... the defaults as a person writes them (not 0.8999999761581421), the command line, when it
# started and finished, and its results.
grep -q '"momentum": 0.9,' "$work/a/run.json" || fail "run.json should record momentum 0.9 as 0.9"
grep -q '"dropout": 0.05,' "$work/a/run.json" || fail "run.json should record dropout 0.05 as 0.05"
grep -q '"command": ".*vkmnist.* --norm gn' "$work/a/run.json" || fail "run.json lacks the command line"
for key in started finished epoch_seconds best_test_accuracy best_epoch final_test_accuracy; do
  grep -q "\"$key\": " "$work/a/run.json" || fail "run.json lacks $key"
done

# --init from a checkpoint of the same net; a bn checkpoint cannot start a gn model, and a
# checkpoint without norm weights cannot start a model with them.
"$vkmnist" --norm gn --groups 2 $common --epochs 1 --init "$work/a/model.safetensors" --out "$work/c"
out=$("$vkmnist" --norm bn $common --epochs 1 --init "$work/a/model.safetensors" --out "$work/d" 2>&1) && fail "bn from a gn checkpoint accepted"
echo "$out" | grep -Eq "cannot initialise|saved from a different model" || fail "unclear message: $out"
[ -e "$work/d/metrics.csv" ] && fail "a failed --init wrote metrics"
"$vkmnist" --norm gn --groups 2 --no-affine $common --epochs 1 --out "$work/e"
out=$("$vkmnist" --norm gn --groups 2 $common --epochs 1 --init "$work/e/model.safetensors" --out "$work/f" 2>&1) && fail "affine model from a no-affine checkpoint accepted"
echo "$out" | grep -q "a checkpoint without norm weights cannot initialise a model with them" || fail "unclear message: $out"
# ... nor other groups, nor the other way round, nor weights that are not finite.
out=$("$vkmnist" --norm gn --groups 4 $common --epochs 1 --init "$work/a/model.safetensors" --out "$work/h" 2>&1) && fail "groups=4 model from a groups=2 checkpoint accepted"
echo "$out" | grep -q "a checkpoint with 2 groups cannot initialise a model with 4" || fail "unclear message: $out"
out=$("$vkmnist" --norm gn --groups 2 --no-affine $common --epochs 1 --init "$work/a/model.safetensors" --out "$work/h" 2>&1) && fail "no-affine model from an affine checkpoint accepted"
echo "$out" | grep -q "a checkpoint with norm weights cannot initialise a model without them" || fail "unclear message: $out"
cp "$work/a/model.safetensors" "$work/nan.safetensors"
python3 - "$work/nan.safetensors" <<'PY'
import struct, sys
with open(sys.argv[1], "r+b") as f:
    (n,) = struct.unpack("<Q", f.read(8))
    f.seek(8 + n)
    f.write(b"\xff\xff\xff\xff")  # the first weight: a NaN
PY
out=$("$vkmnist" --norm gn --groups 2 $common --epochs 1 --init "$work/nan.safetensors" --out "$work/h" 2>&1) && fail "a checkpoint with a NaN weight accepted"
echo "$out" | grep -q "tensor .conv1.weight. holds values that are not finite" || fail "unclear message: $out"
[ -e "$work/h/metrics.csv" ] && fail "a refused --init wrote metrics"

# Divergence without NaN (a huge learning rate): a non-zero exit naming it, no epoch saved.
out=$("$vkmnist" --norm bn $common --epochs 1 --lr 1e6 --schedule constant --out "$work/div" 2>&1) && fail "a diverged run exited 0"
echo "$out" | grep -q "training diverged in epoch 1" || fail "unclear divergence message: $out"
[ -e "$work/div/model.safetensors" ] && fail "a diverged epoch was saved as completed"

# --label-smoothing: recorded in run.json, kept by --resume (bitwise the uninterrupted run), and it
# changes the training (not the reported loss's definition).
"$vkmnist" --norm gn --groups 2 --l1 1e-5 --l2 1e-4 $common --epochs 2 --label-smoothing 0.1 --out "$work/s"
grep -q '"label_smoothing": 0.1,' "$work/s/run.json" || fail "run.json should record --label-smoothing 0.1"
grep -q '"label_smoothing": 0.0,' "$work/a/run.json" || fail "run.json should record no label smoothing as 0.0"
grep -q '"warmup": 0.3$' "$work/a/run.json" || fail "run.json should record the one-cycle warm-up, 0.3"
"$vkmnist" --norm gn --groups 2 --l1 1e-5 --l2 1e-4 $common --epochs 2 --label-smoothing 0.1 --out "$work/s2" --stop-after 1 > /dev/null
"$vkmnist" --resume "$work/s2" --quiet > /dev/null
cmp "$work/s/model.safetensors" "$work/s2/model.safetensors" || fail "a smoothed run resumed differs from the uninterrupted one"
cmp -s "$work/a/model.safetensors" "$work/s/model.safetensors" && fail "--label-smoothing 0.1 trained the same weights as none"

# Without --batch-size a run takes its norm's batch size (gn: 16), the peak rate scaled to it.
"$vkmnist" --norm gn --data "$data" --train-limit 256 --test-limit 64 --epochs 1 --quiet --out "$work/r16" > /dev/null
grep -q '"batch_size": 16,' "$work/r16/run.json" || fail "gn without --batch-size should train at its recipe's 16"
grep -q '"lr": 0.0125,' "$work/r16/run.json" || fail "gn at batch 16 should peak at 0.1 x 16 / 128 = 0.0125"

# --warmup moves the one-cycle peak: recorded, and epoch 1 ends at another learning rate.
"$vkmnist" --norm gn --groups 2 --l1 1e-5 --l2 1e-4 $common --epochs 2 --warmup 0.9 --stop-after 1 --out "$work/w" > /dev/null
grep -q '"warmup": 0.9$' "$work/w/run.json" || fail "run.json should record --warmup 0.9"
[ "$(grep '^1,train' "$work/w/metrics.csv" | cut -d, -f6)" != "$(grep '^1,train' "$work/a/metrics.csv" | cut -d, -f6)" ] ||
  fail "--warmup 0.9 left epoch 1's learning rate as it was"

# Missing data: one line naming the file, non-zero exit, no run folder.
out=$("$vkmnist" --norm bn --data "$work/nowhere" --out "$work/g" 2>&1) && fail "missing data accepted"
echo "$out" | grep -q "not found" || fail "unclear message: $out"
[ "$(echo "$out" | wc -l)" -eq 1 ] || fail "more than one line for missing data: $out"
[ -e "$work/g" ] && fail "missing data still created the run folder"

# An existing run is never overwritten.
out=$("$vkmnist" --norm gn --groups 2 $common --epochs 1 --out "$work/a" 2>&1) && fail "overwrote a run"
echo "$out" | grep -q "already holds a run" || fail "unclear message: $out"
echo "train_cli_test: all checks passed"
