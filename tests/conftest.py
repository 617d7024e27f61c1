import sys
from pathlib import Path

# tests/ holds shared helper modules (notebook_utils); make them importable from any layer.
sys.path.insert(0, str(Path(__file__).resolve().parent))
