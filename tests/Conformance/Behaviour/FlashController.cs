using Microsoft.AspNetCore.Mvc;

namespace Sessions.Conformance.Mvc;

/// <summary>
/// The Post/Redirect/Get flash-message pattern with MVC's TempData on the session (<c>AddSessionStateTempDataProvider()</c>):
/// the kit's behaviour tests run it on every backend, since TempData saves after its result has written the body.
/// Mapped only in the apps of those tests.
/// </summary>
public sealed class FlashController : Controller
{
    /// <summary>Sets the flash message and redirects to <see cref="Show"/>.</summary>
    /// <param name="msg">The message.</param>
    /// <returns>A redirect.</returns>
    [HttpGet("/mvc/flash")]
    public IActionResult Flash(string msg)
    {
        TempData["msg"] = msg;
        return Redirect("/mvc/show");
    }

    /// <summary>Shows the flash message once (TempData removes what was read when it saves).</summary>
    /// <returns>The message, or <c>(none)</c>.</returns>
    [HttpGet("/mvc/show")]
    public IActionResult Show() => Content(TempData["msg"] as string ?? "(none)");

    /// <summary>Reads the message but keeps it for the next request (<c>Keep</c>), then writes the body.</summary>
    /// <returns>The message, or <c>(none)</c>.</returns>
    [HttpGet("/mvc/peek")]
    public IActionResult Peek() => Content(TempData.Peek("msg") as string ?? "(none)");
}
