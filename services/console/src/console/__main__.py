import sys

from console.main import create_app
from console.settings import Settings
from servicekit.http import serve


def main() -> int:
    settings = Settings()
    serve(create_app(settings), settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
