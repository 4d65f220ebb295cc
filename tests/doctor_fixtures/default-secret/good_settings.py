import os

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings

TOKEN = "token"  # a key name, not a secret
PASSWORD_FIELD = "password"
SECRET_KEY = os.environ["SECRET_KEY"]
API_KEY = os.getenv("API_KEY")


class Settings(BaseSettings):
    secret_key: SecretStr = Field(min_length=32)
    db_password: SecretStr
    token_url: str = "https://auth.example.com/token"
    key_prefix: str = "app:"
    api_key: SecretStr = SecretStr("")
    password_min_length: int = 12
    password_hash_scheme: str = "bcrypt"


class LoginForm(BaseModel):
    password: str  # what a user types in a request, not a setting
    secret: str = "x"
