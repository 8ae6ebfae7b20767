# Two entry points, each complete on its own on a fresh machine:
#   make demo  - build the synthetic world, train a CPU-sized GaitBase, print the CASIA-B table
#   make test  - the test suite
# install also fetches the video detector front end's BlazePose models (out of MediaPipe's wheel, from PyPI).
# Optional:
#   make mediapipe-env - a second venv (.venv-mediapipe) with the MediaPipe *solutions* pose backend (--pose mediapipe),
#                        which needs numpy<2 and protobuf<5; the detector front end does not need it
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
DEMO_OUT ?= demo_out
SUDO   := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

MP_PYTHON ?= python3.11
MP_VENV   ?= .venv-mediapipe
MP_PY     := $(MP_VENV)/bin/python
MP_STAMP  := $(MP_VENV)/.installed

.PHONY: demo test install bench clean browser mediapipe-env

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(PY) pyproject.toml constraints.txt
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,detector]"
	$(PY) -m gaitforge.preprocess.video.blazepose_fetch
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/gaitforge demo --out $(DEMO_OUT)

# The web page's end-to-end test drives Debian's chromium through Playwright; install it when missing.
browser:
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  { $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq chromium >/dev/null; } || \
	  echo "warning: could not install chromium; the browser test needs it"

test: $(STAMP) browser
	$(PY) -m pytest -q -p no:cacheprovider tests

bench: $(STAMP)
	for f in benchmarks/bench_*.py; do $(PY) $$f || exit 1; done

# MediaPipe 0.10.21 (the last release whose wheel ships the pose models) needs numpy<2: its own venv, same torch
# (the constraints pin torch==2.13.0, which pip takes from the CPU wheel on disk). gaitforge needs
# opencv-python-headless and mediapipe opencv-contrib-python; both install the same cv2/ folder at one version
# (4.11.0.86 under numpy<2), and the last one installed owns it: the headless build is reinstalled last so that cv2
# needs no Qt/libGL (MediaPipe's pose code only uses cv2's core drawing functions). See docs/video.md.
$(MP_STAMP): pyproject.toml constraints.txt
	$(MP_PYTHON) -m venv $(MP_VENV)
	$(MP_PY) -m pip install --quiet --upgrade pip
	$(MP_PY) -m pip install --quiet -c constraints.txt -e ".[test,mediapipe]" "numpy<2"
	$(MP_PY) -m pip install --quiet -c constraints.txt --force-reinstall --no-deps \
	  "opencv-python-headless==$$($(MP_PY) -c 'import importlib.metadata as m; print(m.version("opencv-contrib-python"))')"
	$(MP_PY) -m pip check
	$(MP_PY) -c "import torch, numpy, cv2, mediapipe, gaitforge.preprocess.video; \
	  assert torch.__version__.split('+')[0] == '2.13.0', torch.__version__; assert int(numpy.__version__.split('.')[0]) < 2, numpy.__version__; \
	  print('mediapipe', mediapipe.__version__, 'torch', torch.__version__, 'numpy', numpy.__version__, 'cv2', cv2.__version__)"
	touch $(MP_STAMP)

mediapipe-env: $(MP_STAMP)

clean:
	rm -rf $(VENV) $(MP_VENV) $(DEMO_OUT) build src/*.egg-info
