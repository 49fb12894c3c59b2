from servicekit.http import serve
from tracking.main import create_app
from tracking.settings import Settings


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
