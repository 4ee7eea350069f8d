"""Sign-in, sign-out, password change and server-side sessions."""
