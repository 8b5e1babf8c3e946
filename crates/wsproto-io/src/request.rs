//! What `connect` accepts: a URL string, an `http::Uri`, an `http::Request`, or a
//! [`ClientRequest`] (as tungstenite's `IntoClientRequest`).

use crate::Error;
use wsproto::ClientRequest;

/// Something that can become the client's opening request.
pub trait IntoClientRequest {
    /// Converts into a [`ClientRequest`].
    fn into_client_request(self) -> Result<ClientRequest, Error>;
}

impl IntoClientRequest for ClientRequest {
    fn into_client_request(self) -> Result<ClientRequest, Error> {
        Ok(self)
    }
}

impl IntoClientRequest for &ClientRequest {
    fn into_client_request(self) -> Result<ClientRequest, Error> {
        Ok(self.clone())
    }
}

impl IntoClientRequest for &str {
    fn into_client_request(self) -> Result<ClientRequest, Error> {
        Ok(ClientRequest::from_url(self)?)
    }
}

impl IntoClientRequest for String {
    fn into_client_request(self) -> Result<ClientRequest, Error> {
        self.as_str().into_client_request()
    }
}

impl IntoClientRequest for &String {
    fn into_client_request(self) -> Result<ClientRequest, Error> {
        self.as_str().into_client_request()
    }
}

impl IntoClientRequest for http::Uri {
    fn into_client_request(self) -> Result<ClientRequest, Error> {
        self.to_string().into_client_request()
    }
}

impl IntoClientRequest for &http::Uri {
    fn into_client_request(self) -> Result<ClientRequest, Error> {
        self.to_string().into_client_request()
    }
}

impl<B> IntoClientRequest for http::Request<B> {
    fn into_client_request(self) -> Result<ClientRequest, Error> {
        Ok(ClientRequest::from_http(&self)?)
    }
}

impl<B> IntoClientRequest for &http::Request<B> {
    fn into_client_request(self) -> Result<ClientRequest, Error> {
        Ok(ClientRequest::from_http(self)?)
    }
}
