from recipients.main import create_app
from recipients.settings import Settings
from servicekit.http import serve


def main() -> None:
    settings = Settings()
    serve(create_app(settings), settings)


if __name__ == "__main__":
    main()
