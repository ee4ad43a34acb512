# Lets plain `flask ...` find the application factory from the repository root.
FLASK_APP=bvp.app:create_app
